//! The vault key file: a random 256-bit key-encryption key (KEK) that wraps the data key.
//!
//! It lives outside the data directory (see [`crate::paths::Paths::key_file`]), so a copy of
//! the database alone cannot be decrypted. Format: one line `orc-vault-key v1 <base64>`.
//! On Unix it is created with mode 0600 from the start (its directory 0700) and a key file that
//! group or others can read is refused. On Windows it is created with a protected DACL that
//! grants only the current user (no inherited entries).

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use zeroize::Zeroizing;

use super::envelope::{self, random_bytes};
use super::keys::{KeyMethod, KeyParams, KeyRow, NewKeyRow, unwrap_with_kek, wrap_binding};
use super::{VaultError, key_error};
use crate::paths::Paths;

const PREFIX: &str = "orc-vault-key v1 ";

/// Why a key file could not be used.
#[derive(Debug)]
pub(super) enum KeyFileProblem {
    /// The file does not exist.
    Missing,
    /// Group or others may read it (Unix mode bits; not checked on Windows).
    #[cfg_attr(windows, allow(dead_code))]
    LoosePermissions { mode: u32 },
    /// It exists but cannot be read.
    Unreadable(std::io::Error),
    /// It is not an orc key file.
    Malformed,
}

impl KeyFileProblem {
    /// A sentence about `path` for the user, saying what to do.
    pub(super) fn describe(&self, path: &Path) -> String {
        let p = path.display();
        match self {
            KeyFileProblem::Missing => format!(
                "key file {p} does not exist (restore it from your backup, or point \
                 ORC_KEY_FILE at it)"
            ),
            KeyFileProblem::LoosePermissions { mode } => format!(
                "key file {p} is readable by group or others (mode {mode:04o}); refusing to use \
                 it — run `chmod 600 {p}` if it has not leaked, else rotate the key"
            ),
            KeyFileProblem::Unreadable(e) => format!("key file {p} cannot be read: {e}"),
            KeyFileProblem::Malformed => {
                format!("key file {p} is not an orc vault key file (damaged or replaced)")
            }
        }
    }
}

/// Reads the KEK from `path`, checking its permissions first.
pub(super) fn read(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyFileProblem> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(KeyFileProblem::Missing),
        Err(e) => return Err(KeyFileProblem::Unreadable(e)),
    };
    if !meta.is_file() {
        return Err(KeyFileProblem::Malformed);
    }
    check_permissions(&meta)?;
    let text = Zeroizing::new(std::fs::read(path).map_err(KeyFileProblem::Unreadable)?);
    parse(&text).ok_or(KeyFileProblem::Malformed)
}

#[cfg(unix)]
fn check_permissions(meta: &std::fs::Metadata) -> Result<(), KeyFileProblem> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileProblem::LoosePermissions { mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_meta: &std::fs::Metadata) -> Result<(), KeyFileProblem> {
    // Windows: the file is created with an owner-only protected DACL (see `restrict`).
    Ok(())
}

fn parse(text: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let text = std::str::from_utf8(text).ok()?;
    let b64 = text.trim_end_matches(['\r', '\n']).strip_prefix(PREFIX)?;
    let bytes = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(b64).ok()?);
    let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
    Some(Zeroizing::new(arr))
}

fn render(kek: &[u8; 32]) -> Zeroizing<String> {
    Zeroizing::new(format!("{PREFIX}{}\n", base64::engine::general_purpose::STANDARD.encode(kek)))
}

/// A short fingerprint of a KEK (stored with the wrapped key, so orc can tell "wrong key file"
/// from "damaged record"). It reveals nothing about the key.
pub(super) fn fingerprint(kek: &[u8; 32]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"orc/keyfile-fingerprint/v1");
    h.update(kek);
    hex::encode(&h.finalize()[..8])
}

/// Returns the KEK in `path`, creating the file with a new random key when it does not exist.
/// Two processes racing to create it end up with the same key.
pub(super) fn read_or_create(path: &Path) -> Result<(Zeroizing<[u8; 32]>, bool), String> {
    match read(path) {
        Ok(k) => return Ok((k, false)),
        Err(KeyFileProblem::Missing) => {}
        Err(p) => return Err(p.describe(path)),
    }
    let mut kek = Zeroizing::new([0u8; 32]);
    random_bytes(kek.as_mut()).map_err(|e| e.0)?;
    match write_new(path, &kek) {
        Ok(()) => Ok((kek, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(path).map(|k| (k, false)).map_err(|p| p.describe(path))
        }
        Err(e) => Err(format!("cannot create key file {}: {e}", path.display())),
    }
}

/// The side file a key rotation writes before the database commits.
pub(super) fn pending_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".new");
    PathBuf::from(s)
}

/// Writes a fresh random KEK to the pending side file (replacing a stale one) and returns it.
pub(super) fn create_pending(path: &Path) -> Result<Zeroizing<[u8; 32]>, String> {
    let pending = pending_path(path);
    let mut kek = Zeroizing::new([0u8; 32]);
    random_bytes(kek.as_mut()).map_err(|e| e.0)?;
    let _ = std::fs::remove_file(&pending);
    write_new(&pending, &kek)
        .map_err(|e| format!("cannot create key file {}: {e}", pending.display()))?;
    Ok(kek)
}

/// Moves the pending side file over the key file.
pub(super) fn commit_pending(path: &Path) -> Result<(), String> {
    let pending = pending_path(path);
    std::fs::rename(&pending, path)
        .map_err(|e| format!("cannot move {} to {}: {e}", pending.display(), path.display()))
}

/// Creates `path` (which must not exist) holding `kek`, owner-only from the first byte.
/// The content is written to a private temporary file first and then hard-linked into place,
/// so a concurrent reader never sees a half-written key file and a concurrent creator gets
/// `AlreadyExists` (and then reads the winner's key).
fn write_new(path: &Path, kek: &[u8; 32]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let _ = std::fs::remove_file(&tmp);
    write_file(&tmp, kek)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            // A file system without hard links: write in place (create_new still refuses to
            // overwrite).
            tracing::debug!("hard link failed ({e}); writing the key file in place");
            write_file(path, kek)
        }
        other => other,
    }
}

fn write_file(path: &Path, kek: &[u8; 32]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    let result = (|| {
        #[cfg(windows)]
        restrict_to_owner(path)?;
        f.write_all(render(kek).as_bytes())?;
        f.sync_all()
    })();
    if result.is_err() {
        drop(f);
        let _ = std::fs::remove_file(path);
    }
    result
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Replaces the DACL of `path` with one entry (full control for the current user) and marks it
/// protected, so nothing is inherited from the directory.
#[cfg(windows)]
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Foundation::{CloseHandle, GENERIC_ALL, HANDLE};
    use windows_sys::Win32::Security::{
        ACL, ACL_REVISION, AddAccessAllowedAce, DACL_SECURITY_INFORMATION, GetLengthSid,
        GetTokenInformation, InitializeAcl, InitializeSecurityDescriptor,
        PROTECTED_DACL_SECURITY_INFORMATION, SECURITY_DESCRIPTOR, SetFileSecurityW,
        SetSecurityDescriptorDacl, TOKEN_QUERY, TOKEN_USER, TokenUser,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    const SECURITY_DESCRIPTOR_REVISION: u32 = 1;
    let last = std::io::Error::last_os_error;

    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: GetCurrentProcess returns a pseudo-handle; `token` is a valid out-pointer.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(last());
    }
    // TOKEN_USER is followed by the SID it points into; 256 bytes (u64-aligned) is ample.
    let mut buf = [0u64; 32];
    let mut needed = 0u32;
    // SAFETY: `buf` is writable for the byte length passed; `needed` is a valid out-pointer.
    let ok = unsafe {
        GetTokenInformation(
            token,
            TokenUser,
            buf.as_mut_ptr().cast(),
            std::mem::size_of_val(&buf) as u32,
            &mut needed,
        )
    };
    let err = last();
    // SAFETY: `token` was opened above and is closed exactly once.
    unsafe { CloseHandle(token) };
    if ok == 0 {
        return Err(err);
    }
    // SAFETY: GetTokenInformation(TokenUser) filled `buf` with a TOKEN_USER, and `buf` is
    // suitably aligned for it.
    let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    // SAFETY: `sid` points to a valid SID inside `buf`.
    let sid_len = unsafe { GetLengthSid(sid) };
    // ACL header + one ACCESS_ALLOWED_ACE (header + mask) + the SID.
    let acl_len = (std::mem::size_of::<ACL>() + 8 + sid_len as usize + 8) as u32;
    let mut acl_buf = vec![0u64; (acl_len as usize).div_ceil(8)];
    let acl = acl_buf.as_mut_ptr().cast::<ACL>();
    // SAFETY: `acl` points to `acl_len` writable, 8-aligned bytes.
    if unsafe { InitializeAcl(acl, acl_len, ACL_REVISION) } == 0 {
        return Err(last());
    }
    // SAFETY: `acl` was initialised above with room for this ACE; `sid` is valid.
    if unsafe { AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, sid) } == 0 {
        return Err(last());
    }
    // SAFETY: SECURITY_DESCRIPTOR is a plain C struct; all-zero is a valid starting value.
    let mut sd: SECURITY_DESCRIPTOR = unsafe { std::mem::zeroed() };
    let psd = (&mut sd as *mut SECURITY_DESCRIPTOR).cast();
    // SAFETY: `psd` points to a SECURITY_DESCRIPTOR we own.
    if unsafe { InitializeSecurityDescriptor(psd, SECURITY_DESCRIPTOR_REVISION) } == 0 {
        return Err(last());
    }
    // SAFETY: `psd` is initialised and `acl` outlives every use of the descriptor below.
    if unsafe { SetSecurityDescriptorDacl(psd, 1, acl, 0) } == 0 {
        return Err(last());
    }
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
    // SAFETY: `wide` is NUL-terminated and `psd` is a valid absolute security descriptor.
    let ok = unsafe {
        SetFileSecurityW(
            wide.as_ptr(),
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            psd,
        )
    };
    if ok == 0 {
        return Err(last());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The data key wrapped with the key file (a `keyfile` record of `vault_keys`).

/// Wraps the data key under the key file's key `kek` (its fingerprint and path are recorded).
pub(super) fn wrap(
    dek: &[u8; 32],
    key_id: u32,
    kek: &[u8; 32],
    path: &Path,
) -> Result<NewKeyRow, VaultError> {
    let params = KeyParams {
        key_id,
        fingerprint: Some(fingerprint(kek)),
        path: Some(path.display().to_string()),
        host: super::hosts::bound_host(KeyMethod::KeyFile),
        ..KeyParams::default()
    };
    let params_text = params.to_text();
    let wrapped = envelope::seal(kek, key_id, &wrap_binding(KeyMethod::KeyFile, &params_text), dek)
        .map_err(|e| key_error(e.0))?;
    Ok(NewKeyRow { method: KeyMethod::KeyFile, params_text, wrapped })
}

/// Unwraps with the key file, finishing an interrupted key rotation if one is found.
pub(super) fn unwrap(row: &KeyRow, paths: &Paths) -> Result<Zeroizing<[u8; 32]>, String> {
    let path = location(paths)?;
    let wanted = row.params.fingerprint.as_deref();
    let pending = pending_path(&path);
    let current = read(&path);
    if let Ok(kek) = &current
        && Some(fingerprint(kek).as_str()) == wanted
    {
        return unwrap_with_kek(row, kek).ok_or_else(|| {
            format!("key file {}: the wrapped key record is damaged", path.display())
        });
    }
    // A rotation writes `<key>.new`, commits, then renames; finish it if it was interrupted.
    if let Ok(kek) = read(&pending)
        && Some(fingerprint(&kek).as_str()) == wanted
        && let Some(dek) = unwrap_with_kek(row, &kek)
    {
        match commit_pending(&path) {
            Ok(()) => tracing::info!("finished an interrupted key rotation: {}", path.display()),
            Err(e) => tracing::warn!("{e}"),
        }
        return Ok(dek);
    }
    match current {
        Ok(_) => Err(format!(
            "key file {} does not belong to this vault (its fingerprint differs; was it \
             replaced, or is ORC_KEY_FILE pointing at another home's key?)",
            path.display()
        )),
        Err(problem) => Err(problem.describe(&path)),
    }
}

/// Where the key file is.
pub(super) fn location(paths: &Paths) -> Result<PathBuf, String> {
    paths.key_file().ok_or_else(|| {
        "no key file location is known (set ORC_KEY_FILE or HOME/LOCALAPPDATA)".to_string()
    })
}

/// Wraps the data key with the key file, creating the file if it does not exist yet (never
/// inside the data directory).
pub(super) fn new_row(dek: &[u8; 32], key_id: u32, paths: &Paths) -> Result<NewKeyRow, VaultError> {
    let path = location(paths).map_err(key_error)?;
    if path.starts_with(&paths.home) {
        return Err(key_error(format!(
            "the key file {} must not be inside the data directory {} (a copy of the data \
             would carry its key)",
            path.display(),
            paths.home.display()
        )));
    }
    let (kek, _) = read_or_create(&path).map_err(key_error)?;
    wrap(dek, key_id, &kek, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_then_read_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("v.key");
        let (k1, created) = read_or_create(&path).unwrap();
        assert!(created);
        let (k2, created) = read_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(*k1, *k2);
        assert_eq!(fingerprint(&k1), fingerprint(&k2));
        assert_eq!(fingerprint(&k1).len(), 16);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dmode =
                std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777;
            assert_eq!(dmode, 0o700);
        }
    }

    #[cfg(unix)]
    #[test]
    fn loose_permissions_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.key");
        read_or_create(&path).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read(&path).unwrap_err();
            assert!(matches!(err, KeyFileProblem::LoosePermissions { .. }), "{mode:o}");
            assert!(err.describe(&path).contains("chmod 600"));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(read(&path).is_ok());
    }

    #[test]
    fn malformed_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.key");
        assert!(matches!(read(&path), Err(KeyFileProblem::Missing)));
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        o.open(&path).unwrap().write_all(b"orc-vault-key v1 AAAA\n").unwrap();
        assert!(matches!(read(&path), Err(KeyFileProblem::Malformed)));
        assert!(read_or_create(&path).is_err(), "a damaged key file is never overwritten");
    }

    #[test]
    fn pending_file_replaces_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.key");
        let (old, _) = read_or_create(&path).unwrap();
        let new = create_pending(&path).unwrap();
        assert_ne!(*old, *new);
        assert_eq!(*read(&path).unwrap(), *old);
        commit_pending(&path).unwrap();
        assert_eq!(*read(&path).unwrap(), *new);
        assert!(!pending_path(&path).exists());
    }
}
