//! Turning stored output bytes into text for display. Bytes are stored raw; only display
//! decodes, in this order: valid UTF-8 → UTF-16BE with a BOM → UTF-16LE (BOM, or mostly-zero
//! high bytes) → on Windows the OEM code page (what `cmd.exe` writes into a pipe) → lossy
//! UTF-8. [`encodings`] is the other direction, for masking secrets in every one of them.

/// Decodes a whole stream (or its head).
pub fn decode(bytes: &[u8]) -> String {
    decode_inner(bytes, false)
}

/// Decodes a fragment cut out of the middle of a stream (a tail): a partial UTF-8 character
/// or half a UTF-16 unit at the start is dropped instead of shown as garbage.
pub fn decode_fragment(bytes: &[u8]) -> String {
    decode_inner(bytes, true)
}

fn decode_inner(bytes: &[u8], fragment: bool) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        let units: Vec<u16> =
            rest.chunks_exact(2).map(|p| u16::from_be_bytes([p[0], p[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    // ASCII text written as UTF-16 is also valid UTF-8 (with NULs): look at the shape first.
    if bytes.contains(&0)
        && let Some(s) = utf16le(bytes)
    {
        return s;
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    if fragment {
        // Up to 3 continuation bytes of a character cut by the ring.
        let skip = bytes.iter().take(3).take_while(|b| (**b & 0xC0) == 0x80).count();
        if skip > 0
            && let Ok(s) = std::str::from_utf8(&bytes[skip..])
        {
            return s.to_string();
        }
        // A multi-byte character cut at the very end is not a reason to give up on UTF-8.
        if let Err(e) = std::str::from_utf8(&bytes[skip..])
            && e.error_len().is_none()
            && let Ok(s) = std::str::from_utf8(&bytes[skip..skip + e.valid_up_to()])
        {
            return s.to_string();
        }
    }
    if let Some(s) = utf16le(bytes) {
        return s;
    }
    #[cfg(windows)]
    if let Some(s) = oem(bytes) {
        return s;
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// `text` in each encoding that display decoding reads, in a fixed order: UTF-8, UTF-16LE,
/// UTF-16BE, and (Windows only) the OEM code page when every character of `text` has an
/// exact OEM byte form and it differs from UTF-8. The output redactor masks each form.
pub fn encodings(text: &str) -> [Option<Vec<u8>>; 4] {
    let utf16 = |f: fn(u16) -> [u8; 2]| text.encode_utf16().flat_map(f).collect::<Vec<u8>>();
    #[cfg(windows)]
    let oem = oem_bytes(text).filter(|b| b.as_slice() != text.as_bytes());
    #[cfg(not(windows))]
    let oem = None;
    [
        Some(text.as_bytes().to_vec()),
        Some(utf16(u16::to_le_bytes)),
        Some(utf16(u16::to_be_bytes)),
        oem,
    ]
}

/// `text` in the OEM code page, or `None` when some character has no exact form there
/// (`WC_NO_BEST_FIT_CHARS`: a best-fit lookalike is not what the child would have printed).
#[cfg(windows)]
fn oem_bytes(text: &str) -> Option<Vec<u8>> {
    use windows_sys::Win32::Globalization::{
        CP_OEMCP, CP_UTF8, GetOEMCP, WC_NO_BEST_FIT_CHARS, WideCharToMultiByte,
    };
    // SAFETY: no arguments, returns the code page number.
    if unsafe { GetOEMCP() } == CP_UTF8 {
        return None;
    }
    let wide: Vec<u16> = text.encode_utf16().collect();
    let len = i32::try_from(wide.len()).ok()?;
    if len == 0 {
        return None;
    }
    let mut used_default = 0;
    // SAFETY: a size query: valid input pointer and length, no output buffer.
    let need = unsafe {
        WideCharToMultiByte(
            CP_OEMCP,
            WC_NO_BEST_FIT_CHARS,
            wide.as_ptr(),
            len,
            std::ptr::null_mut(),
            0,
            std::ptr::null(),
            &mut used_default,
        )
    };
    if need <= 0 || used_default != 0 {
        return None;
    }
    let mut out = vec![0u8; need as usize];
    // SAFETY: `out` has exactly the size the query above asked for.
    let got = unsafe {
        WideCharToMultiByte(
            CP_OEMCP,
            WC_NO_BEST_FIT_CHARS,
            wide.as_ptr(),
            len,
            out.as_mut_ptr(),
            need,
            std::ptr::null(),
            &mut used_default,
        )
    };
    if got <= 0 || used_default != 0 {
        return None;
    }
    out.truncate(got as usize);
    Some(out)
}

/// UTF-16LE when there is a BOM, or when most odd bytes are zero and few even bytes are
/// (ASCII-range text written as UTF-16, e.g. `cmd /u`). Alignment is guessed for fragments.
fn utf16le(bytes: &[u8]) -> Option<String> {
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return Some(from_units(rest));
    }
    if bytes.len() < 4 {
        return None;
    }
    for offset in [0usize, 1] {
        let b = &bytes[offset..];
        let pairs = b.len() / 2;
        if pairs < 2 {
            continue;
        }
        let odd_zero = b.chunks_exact(2).filter(|p| p[1] == 0).count();
        let even_zero = b.chunks_exact(2).filter(|p| p[0] == 0).count();
        if odd_zero * 10 >= pairs * 7 && even_zero * 10 <= pairs {
            return Some(from_units(b));
        }
    }
    None
}

fn from_units(b: &[u8]) -> String {
    let units: Vec<u16> = b.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
    String::from_utf16_lossy(&units)
}

/// The OEM code page (`GetOEMCP`), which `cmd.exe` and many console tools use in a pipe.
#[cfg(windows)]
fn oem(bytes: &[u8]) -> Option<String> {
    use windows_sys::Win32::Globalization::{CP_OEMCP, MultiByteToWideChar};
    let len = i32::try_from(bytes.len()).ok()?;
    // SAFETY: a size query: valid input pointer and length, no output buffer.
    let need =
        unsafe { MultiByteToWideChar(CP_OEMCP, 0, bytes.as_ptr(), len, std::ptr::null_mut(), 0) };
    if need <= 0 {
        return None;
    }
    let mut wide = vec![0u16; need as usize];
    // SAFETY: `wide` has exactly the size the query above asked for.
    let got =
        unsafe { MultiByteToWideChar(CP_OEMCP, 0, bytes.as_ptr(), len, wide.as_mut_ptr(), need) };
    if got <= 0 {
        return None;
    }
    wide.truncate(got as usize);
    Some(String::from_utf16_lossy(&wide))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_passes_through() {
        assert_eq!(decode("héllo ✓\0x".as_bytes()), "héllo ✓\0x");
        assert_eq!(decode(b"\xEF\xBB\xBFbom"), "bom");
    }

    #[test]
    fn utf16le_with_bom_or_by_shape() {
        let text = "Volume in drive C";
        let mut with_bom = vec![0xFF, 0xFE];
        with_bom.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&with_bom), text);
        let bare: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode(&bare), text);
        // A fragment starting on the high byte of a unit.
        assert_eq!(decode_fragment(&bare[1..]), &text[1..]);
    }

    #[test]
    fn invalid_bytes_never_panic() {
        let s = decode(b"\x82\xFFok");
        assert!(s.ends_with("ok"), "{s}");
        let s = decode_fragment(b"\xA9 caf\xC3\xA9 and a cut \xE2\x9C");
        assert_eq!(s, " café and a cut ");
        assert_eq!(decode(b""), "");
    }

    #[test]
    fn every_encoding_round_trips_through_display() {
        let text = "pässwörd-Ω";
        let forms = encodings(text);
        assert_eq!(forms[0].as_deref(), Some(text.as_bytes()));
        for (i, form) in forms.iter().enumerate().skip(1) {
            let Some(bytes) = form else { continue };
            let mut shown = bytes.clone();
            if i == 2 {
                shown.splice(0..0, [0xFE, 0xFF]);
            }
            assert_eq!(decode(&shown), text, "form {i}");
        }
        // ASCII is the same in the OEM code page as in UTF-8: no separate form.
        assert_eq!(encodings("abc")[3], None);
        #[cfg(windows)]
        {
            let t = "pässwörd";
            // ä and ö exist in the Western OEM code pages (437, 850) of Wine and the CI runner.
            let oem = encodings(t)[3].clone().expect("an OEM form");
            assert_eq!(decode(&oem), t);
        }
    }

    #[cfg(not(windows))]
    #[test]
    fn cp437_bytes_are_shown_lossily_off_windows() {
        // CP437 'é' is 0x82: not UTF-8, so it is replaced, never a panic.
        assert_eq!(decode(b"caf\x82"), "caf\u{FFFD}");
    }
}
