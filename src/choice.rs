//! Values that are one of a fixed list of words (flags, settings, query parameters): one
//! parser and one refusal text, so the list a refusal shows is the list that is accepted.

use crate::error::{Error, Result};

/// The value named `text` (trimmed, case-insensitive) among `choices`; refused as `field`
/// with the names in their order.
pub fn parse<T: Copy>(field: &str, text: &str, choices: &[(&str, T)]) -> Result<T> {
    let wanted = text.trim();
    choices.iter().find(|(n, _)| n.eq_ignore_ascii_case(wanted)).map(|(_, v)| *v).ok_or_else(|| {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        Error::invalid(field, text, format!("must be one of {}", names.join(", ")))
    })
}

/// The name of `value` in `choices` (the first, when several names mean the same).
///
/// # Panics
/// When `value` is not in `choices`: the table is incomplete, a bug caught by its tests.
pub fn name<T: Copy + PartialEq>(value: T, choices: &[(&'static str, T)]) -> &'static str {
    choices.iter().find(|(_, v)| *v == value).map(|(n, _)| *n).expect("every value is named")
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDS: &[(&str, u8)] = &[("one", 1), ("two", 2)];

    #[test]
    fn names_match_ignoring_case_and_space_and_refusals_list_them() {
        assert_eq!(parse("--n", " TWO ", WORDS).unwrap(), 2);
        assert_eq!(name(1, WORDS), "one");
        let e = parse("--n", "three", WORDS).unwrap_err();
        assert_eq!(e.to_string(), "invalid --n \"three\": must be one of one, two");
    }
}
