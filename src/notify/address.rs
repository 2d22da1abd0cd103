//! Validation of mail addresses and subjects before anything reaches a header.
//!
//! lettre already encodes header values (RFC 2047) so that CR/LF cannot start a new header,
//! but configured addresses are refused outright when they contain control characters,
//! and the number of recipients and the subject length are capped (docs/design/reliability.md §5).

use lettre::Address;
use lettre::message::Mailbox;

use crate::error::{Error, Result};

/// Most recipients one message may have.
pub const MAX_RECIPIENTS: usize = 50;
/// Longest subject, in characters; longer ones are shortened with an ellipsis.
pub const MAX_SUBJECT_CHARS: usize = 200;

const ADDRESS_RULE: &str = "must be an e-mail address like ops@example.com (no control \
     characters, no line breaks)";

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// Parses one bare address (`user@domain`).
pub fn parse_address(field: &str, text: &str) -> Result<Address> {
    let t = text.trim();
    if t.is_empty() || has_control(text) {
        return Err(Error::invalid(field, text, ADDRESS_RULE));
    }
    t.parse::<Address>().map_err(|e| Error::invalid(field, text, format!("{ADDRESS_RULE} ({e})")))
}

/// Parses a sender: `user@domain` or `Display Name <user@domain>`.
pub fn parse_mailbox(field: &str, text: &str) -> Result<Mailbox> {
    let t = text.trim();
    if t.is_empty() || has_control(text) {
        return Err(Error::invalid(field, text, ADDRESS_RULE));
    }
    t.parse::<Mailbox>().map_err(|e| Error::invalid(field, text, format!("{ADDRESS_RULE} ({e})")))
}

/// Parses a comma- or semicolon-separated list of addresses, removing duplicates
/// (case-insensitively) and enforcing [`MAX_RECIPIENTS`].
pub fn parse_list(field: &str, text: &str) -> Result<Vec<Address>> {
    if has_control(text) {
        return Err(Error::invalid(field, text, ADDRESS_RULE));
    }
    let items: Vec<&str> =
        text.split([',', ';']).map(str::trim).filter(|s| !s.is_empty()).collect();
    from_items(field, &items)
}

/// Validates a list of addresses given one by one (e.g. a task's `email`).
pub fn from_items<S: AsRef<str>>(field: &str, items: &[S]) -> Result<Vec<Address>> {
    let mut out: Vec<Address> = Vec::new();
    for item in items {
        let a = parse_address(field, item.as_ref())?;
        if !out.iter().any(|o: &Address| {
            AsRef::<str>::as_ref(o).eq_ignore_ascii_case(AsRef::<str>::as_ref(&a))
        }) {
            out.push(a);
        }
    }
    if out.len() > MAX_RECIPIENTS {
        return Err(Error::invalid(
            field,
            format!("{} addresses", out.len()),
            format!("at most {MAX_RECIPIENTS} recipients per message"),
        ));
    }
    Ok(out)
}

/// Makes a subject safe to hand to lettre: control characters (CR, LF, TAB, NUL…) become
/// spaces, runs of spaces collapse, and it is cut to [`MAX_SUBJECT_CHARS`].
pub fn clean_subject(subject: &str) -> String {
    let mut out = String::with_capacity(subject.len());
    let mut last_space = false;
    for c in subject.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    let out = out.trim().to_string();
    if out.chars().count() <= MAX_SUBJECT_CHARS {
        return out;
    }
    let mut cut: String = out.chars().take(MAX_SUBJECT_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_address("f", " ops@example.com ").unwrap().to_string(), "ops@example.com");
        for bad in [
            "",
            "ops",
            "x\r\nBcc: evil@x",
            "a@example.com\r\nBcc: evil@x",
            "a@example.com\n",
            "a@exa mple.com",
            "a\0@example.com",
            "<a@example.com>",
        ] {
            let e = parse_address("mail.to", bad).unwrap_err();
            assert!(e.to_string().contains("mail.to"), "{bad:?}: {e}");
        }
        let m = parse_mailbox("mail.from", "orc on SRV01 <orc@example.com>").unwrap();
        assert_eq!(m.email.to_string(), "orc@example.com");
        assert!(parse_mailbox("mail.from", "orc <orc@example.com>\r\nBcc: evil@x").is_err());
    }

    #[test]
    fn lists() {
        let l = parse_list("mail.to", "a@example.com; b@example.com,A@EXAMPLE.com,,").unwrap();
        assert_eq!(l.len(), 2);
        let many: Vec<String> = (0..51).map(|i| format!("u{i}@example.com")).collect();
        let e = from_items("email", &many).unwrap_err();
        assert!(e.to_string().contains("at most 50"), "{e}");
        assert_eq!(from_items("email", &many[..50]).unwrap().len(), 50);
        assert!(parse_list("mail.to", "a@example.com,\r\nBcc: evil@x").is_err());
    }

    #[test]
    fn subjects() {
        assert_eq!(clean_subject("x\r\nBcc: evil@x"), "x Bcc: evil@x");
        assert_eq!(clean_subject("  a\t\tb  "), "a b");
        let long = "é".repeat(500);
        let s = clean_subject(&long);
        assert_eq!(s.chars().count(), MAX_SUBJECT_CHARS);
        assert!(s.ends_with('…'));
    }
}
