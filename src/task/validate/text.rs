//! The one check for text that reaches a Task Scheduler definition (and the task's exported
//! JSON): the characters an XML 1.0 document cannot carry, and Unicode noncharacters.
//!
//! * XML 1.0 `Char` is `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`:
//!   the C0 controls other than TAB, LF and CR, and U+FFFE/U+FFFF, cannot appear in a document
//!   at all, not even as character references; a definition holding one is malformed.
//! * The other noncharacters (U+FDD0–U+FDEF and the last two code points of every plane,
//!   U+1FFFE/U+1FFFF … U+10FFFE/U+10FFFF) are "discouraged" by XML 1.0 §2.2 and reserved by
//!   Unicode for internal use: orc refuses them too, so that what is stored is always what can
//!   be registered and exchanged.
//!
//! Rust strings cannot hold lone surrogates, so nothing else needs checking.

use crate::error::{Error, Result};

/// Whether `c` is a Unicode noncharacter (66 code points).
pub fn is_noncharacter(c: char) -> bool {
    let u = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&u) || u & 0xFFFE == 0xFFFE
}

/// Whether XML 1.0 cannot carry `c` (C0 controls other than TAB, LF, CR; U+FFFE, U+FFFF).
fn is_xml_forbidden(c: char) -> bool {
    let u = u32::from(c);
    (u < 0x20 && !matches!(c, '\t' | '\n' | '\r')) || u == 0xFFFE || u == 0xFFFF
}

/// Refuses (exit 2) a `field` value holding a character XML 1.0 cannot carry or a Unicode
/// noncharacter. Called for every text of a task that reaches its definition (task
/// validation, hence add, edit and import) and by the XML writer for the paths it adds.
pub fn check_definition_text(field: &str, value: &str) -> Result<()> {
    let Some(c) = value.chars().find(|&c| is_xml_forbidden(c) || is_noncharacter(c)) else {
        return Ok(());
    };
    let what =
        if is_noncharacter(c) { "the Unicode noncharacter" } else { "the control character" };
    Err(Error::invalid(
        field,
        value,
        format!(
            "contains {what} U+{:04X}, which the Task Scheduler definition (an XML 1.0 \
             document) cannot carry",
            u32::from(c)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_noncharacter_class_is_refused() {
        let bad = ['\u{FFFE}', '\u{FFFF}', '\u{FDD0}', '\u{FDE7}', '\u{FDEF}', '\u{1FFFE}'];
        let bad = bad.into_iter().chain(['\u{2FFFF}', '\u{10FFFE}', '\u{10FFFF}']);
        for c in bad {
            assert!(is_noncharacter(c), "{:X}", u32::from(c));
            let e = check_definition_text("--description", &format!("a{c}b")).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert_eq!(
                e.to_string(),
                format!(
                    "invalid --description \"a{}b\": contains the Unicode noncharacter U+{:04X}, \
                     which the Task Scheduler definition (an XML 1.0 document) cannot carry",
                    c.escape_debug(),
                    u32::from(c)
                )
            );
        }
        for c in ['\u{FDCF}', '\u{FDF0}', '\u{FFFD}', '\u{1FFFD}', '\u{E000}', 'é', '🙂'] {
            assert!(!is_noncharacter(c), "{:X}", u32::from(c));
            assert!(check_definition_text("f", &format!("a{c}b")).is_ok());
        }
    }

    #[test]
    fn controls_xml_cannot_carry_are_refused() {
        assert!(check_definition_text("f", "tab\tnew\nline\r ok é 🙂 \u{7F} \u{85}").is_ok());
        for c in ['\0', '\u{1}', '\u{7}', '\u{1B}', '\u{1F}'] {
            let e = check_definition_text("--command", &format!("x{c}")).unwrap_err();
            assert!(e.to_string().contains("the control character U+00"), "{e}");
            assert!(e.to_string().contains("XML 1.0"), "{e}");
        }
    }
}
