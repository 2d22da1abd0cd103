//! DPAPI, user scope: `CryptProtectData` / `CryptUnprotectData` with `CRYPTPROTECT_UI_FORBIDDEN`
//! and a fixed optional entropy. Only processes running as the same Windows user on the same
//! machine can unwrap what this wraps.

use zeroize::Zeroizing;

/// Optional entropy mixed into every DPAPI call (docs/design/reliability.md §1.5).
#[cfg_attr(not(windows), allow(dead_code))]
pub(super) const ENTROPY: &[u8] = b"orc/dek/v1";

#[cfg(windows)]
pub(super) mod imp {
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Cryptography::{
        CRYPT_INTEGER_BLOB, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData, CryptUnprotectData,
    };
    use zeroize::{Zeroize, Zeroizing};

    fn blob(data: &[u8]) -> CRYPT_INTEGER_BLOB {
        CRYPT_INTEGER_BLOB { cbData: data.len() as u32, pbData: data.as_ptr().cast_mut() }
    }

    /// Copies a DPAPI output blob into a Vec (wiping and freeing the original).
    fn take(out: CRYPT_INTEGER_BLOB) -> Zeroizing<Vec<u8>> {
        // SAFETY: on success DPAPI returns a LocalAlloc'ed buffer of `cbData` bytes.
        let slice = unsafe { std::slice::from_raw_parts_mut(out.pbData, out.cbData as usize) };
        let copy = Zeroizing::new(slice.to_vec());
        slice.zeroize();
        // SAFETY: `pbData` was allocated by DPAPI with LocalAlloc and is freed exactly once.
        unsafe { LocalFree(out.pbData.cast()) };
        copy
    }

    /// Calls `f(input, entropy, out)` (one of the two DPAPI functions) on `data` with orc's
    /// entropy and returns its output blob.
    fn call(
        data: &[u8],
        f: impl FnOnce(
            &CRYPT_INTEGER_BLOB,
            &CRYPT_INTEGER_BLOB,
            &mut CRYPT_INTEGER_BLOB,
        ) -> windows_sys::core::BOOL,
    ) -> std::io::Result<Zeroizing<Vec<u8>>> {
        let input = blob(data);
        let entropy = blob(super::ENTROPY);
        let mut out = CRYPT_INTEGER_BLOB { cbData: 0, pbData: std::ptr::null_mut() };
        if f(&input, &entropy, &mut out) == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(take(out))
    }

    /// `extra_flags`: 0 (user scope) or `CRYPTPROTECT_LOCAL_MACHINE` (see `machine.rs`).
    pub(in crate::vault) fn protect(plain: &[u8], extra_flags: u32) -> std::io::Result<Vec<u8>> {
        let description: Vec<u16> = "orc vault key".encode_utf16().chain(Some(0)).collect();
        let wrapped = call(plain, |input, entropy, out| {
            // SAFETY: every pointer refers to a live buffer for the duration of the call; `out`
            // is a valid out-parameter; no prompt struct is passed (UI is forbidden).
            unsafe {
                CryptProtectData(
                    input,
                    description.as_ptr(),
                    entropy,
                    std::ptr::null(),
                    std::ptr::null(),
                    CRYPTPROTECT_UI_FORBIDDEN | extra_flags,
                    out,
                )
            }
        })?;
        Ok(wrapped.to_vec())
    }

    pub(in crate::vault) fn unprotect(
        wrapped: &[u8],
        extra_flags: u32,
    ) -> std::io::Result<Zeroizing<Vec<u8>>> {
        call(wrapped, |input, entropy, out| {
            // SAFETY: as in `protect`; DPAPI only reads `input` and `entropy`, and the
            // description out-pointer is null (not wanted).
            unsafe {
                CryptUnprotectData(
                    input,
                    std::ptr::null_mut(),
                    entropy,
                    std::ptr::null(),
                    std::ptr::null(),
                    CRYPTPROTECT_UI_FORBIDDEN | extra_flags,
                    out,
                )
            }
        })
    }
}

/// Wraps `plain` for the current Windows user.
pub(super) fn protect(plain: &[u8]) -> Result<Vec<u8>, String> {
    #[cfg(windows)]
    {
        imp::protect(plain, 0).map_err(|e| format!("DPAPI CryptProtectData failed: {e}"))
    }
    #[cfg(not(windows))]
    {
        let _ = plain;
        Err("DPAPI is only available on Windows".to_string())
    }
}

/// Unwraps a blob written by [`protect`] as the same user on the same machine.
pub(super) fn unprotect(wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    #[cfg(windows)]
    {
        imp::unprotect(wrapped, 0).map_err(|e| {
            format!(
                "DPAPI cannot unwrap the vault key for this user ({e}); it only works for the \
                 Windows user who stored it, on this machine, with a logon that loads the \
                 user's profile"
            )
        })
    }
    #[cfg(not(windows))]
    {
        let _ = wrapped;
        Err("DPAPI is only available on Windows".to_string())
    }
}

/// True where DPAPI exists.
pub(super) fn available() -> bool {
    cfg!(windows)
}

#[cfg(all(test, windows))]
type Unwrapped = Result<Zeroizing<Vec<u8>>, String>;

/// A wrap/unwrap pair round-trips a key, hides it, and refuses a tampered blob (shared by
/// the user- and machine-scope tests).
#[cfg(all(test, windows))]
pub(super) fn assert_round_trip(
    protect: fn(&[u8]) -> Result<Vec<u8>, String>,
    unprotect: fn(&[u8]) -> Unwrapped,
) {
    let dek = [0x5Au8; 32];
    let wrapped = protect(&dek).unwrap();
    assert!(!wrapped.windows(32).any(|w| w == dek));
    assert_eq!(unprotect(&wrapped).unwrap().as_slice(), &dek);
    let mut tampered = wrapped.clone();
    let n = tampered.len();
    tampered[n - 5] ^= 1;
    assert!(unprotect(&tampered).is_err());
}

#[cfg(all(test, windows))]
mod tests {
    /// Runs on Windows and under Wine (which implements DPAPI).
    #[test]
    fn dpapi_round_trip() {
        super::assert_round_trip(super::protect, super::unprotect);
    }
}
