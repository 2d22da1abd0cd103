//! Property-based fuzzing of the crontab block functions (issue 12).

use std::path::Path;

use proptest::prelude::*;

use super::{BlockState, Entry, locate, parse_block, render, splice_bytes};

/// Cases per property (issue 12 asks for at least 10,000).
const CASES: u32 = 10_000;

fn entry() -> impl Strategy<Value = Entry> {
    (
        "[A-Za-z0-9][A-Za-z0-9._-]{0,20}",
        prop_oneof![
            Just("@daily".to_string()),
            Just("@hourly".to_string()),
            "[0-5]?[0-9] [0-2]?[0-9] \\* \\* [0-6]",
            "\\*/[1-9] \\* [1-9] [1-9] \\*",
        ],
        any::<bool>(),
    )
        .prop_map(|(task, schedule, enabled)| Entry { task, schedule, enabled })
}

/// Bytes a user's crontab may hold outside orc's block (any encoding, CR/LF, markers of
/// other homes).
fn foreign() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..20),
            Just(b"\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"# END orc ffffffffffffffff\n".to_vec()),
            Just(b"# BEGIN orc ffffffffffffffff\n".to_vec()),
            Just(b"15 3 * * * /usr/local/bin/backup\n".to_vec()),
        ],
        0..6,
    )
    .prop_map(|v| v.concat())
    .prop_filter("no marker of ours", |v| !String::from_utf8_lossy(v).contains("orc abc"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    /// render → parse gives back every entry (task, normalised schedule, enabled state).
    #[test]
    fn render_then_parse_is_identity(
        entries in prop::collection::vec(entry(), 1..6),
        home in "/[a-z]{1,8}(/[a-z %']{1,8}){0,2}",
    ) {
        let block = render("abc", Path::new("/usr/bin/orc"), Path::new(&home), &entries).unwrap();
        let found = parse_block(&block);
        let got: Vec<(String, String, bool)> =
            found.into_iter().map(|f| (f.task, f.schedule, f.enabled)).collect();
        let want: Vec<(String, String, bool)> = entries
            .iter()
            .map(|e| (e.task.clone(), e.schedule.split_whitespace().collect::<Vec<_>>().join(" "), e.enabled))
            .collect();
        prop_assert_eq!(got, want);
    }

    /// Splicing a block into any crontab, finding it again and removing it gives back the
    /// user's bytes exactly; replacing it is idempotent.
    #[test]
    fn splice_locate_remove_round_trip(
        head in foreign(),
        entries in prop::collection::vec(entry(), 1..4),
    ) {
        let block = render("abc", Path::new("/o"), Path::new("/h"), &entries).unwrap();
        prop_assume!(locate(&head, "abc") == BlockState::Absent);
        let with = splice_bytes(&head, BlockState::Absent, Some(&block));
        let state = locate(&with, "abc");
        let BlockState::Found(a, b) = state else {
            return Err(TestCaseError::fail(format!("block not found: {state:?}")));
        };
        prop_assert_eq!(&with[a..b], block.as_bytes());
        prop_assert_eq!(splice_bytes(&with, state, Some(&block)), with.clone());
        let removed = splice_bytes(&with, state, None);
        let mut want = head.clone();
        if !want.is_empty() && !want.ends_with(b"\n") {
            want.push(b'\n');
        }
        prop_assert_eq!(removed, want);
    }

    /// Arbitrary bytes never panic, and a found block lies within the text on line bounds.
    #[test]
    fn locate_never_panics(picks in prop::collection::vec(0usize..8, 0..160)) {
        const BYTES: [u8; 8] = [b'\n', b'#', b' ', b'a', 0xff, b'\r', b'E', b'B'];
        let mut text: Vec<u8> = picks.into_iter().map(|i| BYTES[i]).collect();
        text.extend_from_slice(b"# BEGIN orc abc\n");
        if let BlockState::Found(a, b) = locate(&text, "abc") {
            prop_assert!(a < b && b <= text.len());
        }
        let _ = parse_block(&String::from_utf8_lossy(&text));
    }
}
