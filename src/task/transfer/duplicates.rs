//! Finding a key that appears twice in one JSON object. `serde_json` keeps the last of two
//! equal keys, so `{"command":"echo SAFE","command":"echo EVIL"}` would import the second
//! while a reader (and a dry-run plan built from a different parser) may see the first.
//! Import refuses such a document, naming the key and where it is.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A key found twice: the key and the path of the object holding it (`tasks[0].env`; `$`
/// for the document itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Duplicate {
    pub(super) key: String,
    pub(super) path: String,
}

/// The first duplicated key in `text`, if any. Syntax errors are left to the real parser
/// (`Ok(None)`), which reports them with its own message.
pub(super) fn first_duplicate(text: &str) -> Option<Duplicate> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    // Without a limit a deeply nested document would exhaust the stack; serde_json's own
    // recursion limit (128) applies to this walk too.
    let _ = Walk { path: "$".into(), found: &found }.deserialize(&mut de);
    found.into_inner()
}

struct Walk<'a> {
    path: String,
    found: &'a RefCell<Option<Duplicate>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

fn child(parent: &str, key: &str) -> String {
    let simple = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match (parent, simple) {
        ("$", true) => key.to_string(),
        (_, true) => format!("{parent}.{key}"),
        _ => format!("{parent}[{key:?}]"),
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                *self.found.borrow_mut() = Some(Duplicate { key, path: self.path.clone() });
                return Err(de::Error::custom("duplicate key"));
            }
            let path = child(&self.path, &key);
            map.next_value_seed(Walk { path, found: self.found })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let path =
                if self.path == "$" { format!("[{i}]") } else { format!("{}[{i}]", self.path) };
            if seq.next_element_seed(Walk { path, found: self.found })?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dup(text: &str) -> Option<(String, String)> {
        first_duplicate(text).map(|d| (d.key, d.path))
    }

    #[test]
    fn finds_duplicates_at_any_depth() {
        assert_eq!(dup(r#"{"a":1,"b":2}"#), None);
        assert_eq!(dup(r#"{"a":1,"a":2}"#), Some(("a".into(), "$".into())));
        let doc = r#"{"orc_export":1,"tasks":[{"name":"x"},
            {"name":"y","command":"echo SAFE","command":"echo EVIL"}]}"#;
        assert_eq!(dup(doc), Some(("command".into(), "tasks[1]".into())));
        let doc = r#"{"tasks":[{"env":{"K":"1","K":"2"}}]}"#;
        assert_eq!(dup(doc), Some(("K".into(), "tasks[0].env".into())));
        let doc = r#"[[{"x":{"a b":{"k":1,"k":2}}}]]"#;
        assert_eq!(dup(doc), Some(("k".into(), r#"[0][0].x["a b"]"#.into())));
        // Equal keys in different objects are fine; escapes are compared decoded.
        assert_eq!(dup(r#"[{"a":1},{"a":2}]"#), None);
        assert_eq!(dup(r#"{"a":1,"\u0061":2}"#), Some(("a".into(), "$".into())));
        // Not JSON: left to the real parser.
        assert_eq!(dup(r#"{"a":1,"b""#), None);
    }
}
