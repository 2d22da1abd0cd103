//! Name mapping: legacy task names → orc task names (valid names stay, the rest are
//! rewritten, collisions get `-2`, `-3`…, earlier imports keep their names).

use std::collections::{BTreeMap, BTreeSet};

use super::Existing;
use crate::migrate::legacy::LegacyTask;
use crate::task::validate;

/// The orc name for a legacy name: characters outside `[A-Za-z0-9._-]` become `_`, leading
/// non-alphanumerics and trailing dots go, at most 64 characters, device names get `_task`.
pub fn orc_name(legacy: &str) -> String {
    let mapped: String = legacy
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    let mut s = mapped.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    s.truncate(64);
    let mut s = s.trim_end_matches('.').to_string();
    if s.is_empty() {
        s = "task".into();
    }
    if validate::validate_name(&s).is_err() {
        s.truncate(59);
        s.push_str("_task");
    }
    s
}

fn unique(base: &str, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = base.to_string();
    let mut n = 2;
    while taken.contains(&candidate.to_ascii_lowercase()) {
        let suffix = format!("-{n}");
        let mut stem = base.to_string();
        stem.truncate(64 - suffix.len());
        candidate = format!("{}{suffix}", stem.trim_end_matches('.'));
        n += 1;
    }
    taken.insert(candidate.to_ascii_lowercase());
    candidate
}

/// Legacy task name → orc name: earlier imports keep their names, valid unused names stay,
/// the rest get [`orc_name`] and `-2`, `-3`… on collision (case-insensitive).
pub fn assign_names(tasks: &[LegacyTask], existing: &Existing) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mapped_targets: BTreeSet<String> =
        existing.mapped.values().map(|n| n.to_ascii_lowercase()).collect();
    let mut taken: BTreeSet<String> =
        existing.tasks.iter().map(|n| n.to_ascii_lowercase()).collect();
    taken.extend(mapped_targets);
    for t in tasks {
        if let Some(n) = existing.mapped.get(&t.name) {
            out.insert(t.name.clone(), n.clone());
        }
    }
    // Valid names first, so that a renamed name never pushes a valid one to `-2`.
    for pass in [true, false] {
        for t in tasks {
            if out.contains_key(&t.name) || validate::validate_name(&t.name).is_ok() != pass {
                continue;
            }
            let name = unique(&orc_name(&t.name), &mut taken);
            out.insert(t.name.clone(), name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::legacy::LegacyTask;

    #[test]
    fn renames_are_deterministic_and_collision_free() {
        assert_eq!(orc_name("bad name with spaces"), "bad_name_with_spaces");
        assert_eq!(orc_name("  -x/y\\z  "), "x_y_z");
        assert_eq!(orc_name("CON"), "CON_task");
        assert_eq!(orc_name("..."), "task");
        assert_eq!(orc_name("abc."), "abc");
        assert_eq!(orc_name(&"a".repeat(80)), "a".repeat(64));
        assert_eq!(orc_name("é-é"), "task");
        assert_eq!(orc_name("x é"), "x__");
        let t = |n: &str, id| LegacyTask { id, name: n.into(), ..Default::default() };
        let tasks = vec![t("a b", 1), t("a_b", 2), t("A?b", 3)];
        let existing = Existing { tasks: vec!["other".into()], ..Default::default() };
        let names = assign_names(&tasks, &existing);
        assert_eq!(names["a_b"], "a_b");
        assert_eq!(names["a b"], "a_b-2");
        assert_eq!(names["A?b"], "A_b-3");
        let existing = Existing {
            tasks: vec!["a_b-2".into()],
            mapped: [("a b".to_string(), "a_b-2".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(assign_names(&tasks, &existing)["a b"], "a_b-2");
    }
}
