//! insta snapshots of `describe()`, the plan summary and `triggers_fragment` for the shapes
//! in docs/design/cron-mapping.md §4's table. The counts are also asserted directly so that a snapshot update
//! cannot silently change them.

use super::{day, expr};
use crate::cron::{trigger, xml};

/// Description, plan summary and XML for one expression.
fn summary(text: &str) -> (String, usize, bool) {
    let e = expr(text);
    let plan = trigger::plan(&e);
    let mut out = format!(
        "expression: {text}\ndescription: {}\ntriggers: {}\nexact: {}\nmay_duplicate: {}\n",
        e.describe(),
        plan.triggers.len(),
        plan.exact,
        plan.may_duplicate
    );
    for note in &plan.notes {
        out.push_str("note: ");
        out.push_str(note);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&xml::triggers_fragment(&plan, day("2027-01-01")));
    out.push('\n');
    (out, plan.triggers.len(), plan.exact)
}

/// Snapshots one expression and checks its trigger count and exactness.
fn check(name: &str, text: &str, count: usize, exact: bool) {
    let (out, got_count, got_exact) = summary(text);
    assert_eq!((got_count, got_exact), (count, exact), "{text}");
    insta::assert_snapshot!(name, out);
}

#[test]
fn business_hours() {
    check("business_hours", "0 9-17 * * 1-5", 1, true);
}

#[test]
fn quarter_hours_on_weekdays() {
    check("quarter_hours_on_weekdays", "*/15 8-18 * * MON-FRI", 1, true);
}

#[test]
fn first_and_fifteenth() {
    check("first_and_fifteenth", "0 0 1,15 * *", 1, true);
}

#[test]
fn sunday_half_past_two() {
    check("sunday_half_past_two", "30 2 * * 0", 1, true);
}

#[test]
fn every_seven_minutes() {
    check("every_seven_minutes", "*/7 * * * *", 9, true);
}

#[test]
fn day_of_month_or_monday() {
    check("day_of_month_or_monday", "0 0 1,15 * 1", 2, true);
}

#[test]
fn odd_days_and_weekend_superset() {
    check("odd_days_and_weekend_superset", "0 12 */2 * 0,6", 1, false);
}
