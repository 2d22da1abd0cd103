//! proptest strategies for random *valid* cron expressions in every syntactic form: `*`,
//! `*/s` (including steps larger than the range), values, ranges, stepped ranges, names in
//! months and weekdays, `N-0` in day-of-week, 7 for Sunday, lists with `*` inside, macros.

use proptest::prelude::*;

use crate::cron::Field;
use crate::cron::parse::bounds;

/// A value as a number, or as a 3-letter name in a random case when the field has names.
fn value_text(field: Field, value: u32, as_name: bool, case: u8) -> String {
    use crate::cron::parse::{DAY_ABBREVIATIONS as DAYS, MONTH_ABBREVIATIONS as MONTHS};
    let name = match field {
        Field::Month if as_name => Some(MONTHS[(value - 1) as usize]),
        // 7 stays a number so that `N-7/step` never turns into the backwards `N-sun/step`.
        Field::DayOfWeek if as_name && value < 7 => Some(DAYS[value as usize]),
        _ => None,
    };
    match (name, case % 3) {
        (None, _) => value.to_string(),
        (Some(n), 0) => n.to_owned(),
        (Some(n), 1) => n.to_ascii_uppercase(),
        (Some(n), _) => {
            let mut chars = n.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        }
    }
}

/// One list item for `field`.
fn item(field: Field) -> BoxedStrategy<String> {
    let (low, high) = bounds(field);
    let span = high - low + 1;
    let style = (any::<bool>(), any::<u8>());
    let mut options: Vec<(u32, BoxedStrategy<String>)> = vec![
        (2, Just("*".to_owned()).boxed()),
        (2, (1..=span + 3).prop_map(|step| format!("*/{step}")).boxed()),
        (5, (low..=high, style).prop_map(move |(v, (n, c))| value_text(field, v, n, c)).boxed()),
        (
            3,
            (low..=high, low..=high, style)
                .prop_map(move |(a, b, (n, c))| {
                    let (a, b) = (a.min(b), a.max(b));
                    format!("{}-{}", value_text(field, a, n, c), value_text(field, b, n, c))
                })
                .boxed(),
        ),
        (
            2,
            (low..=high, low..=high, 1..=span + 2, style)
                .prop_map(move |(a, b, step, (n, c))| {
                    let (a, b) = (a.min(b), a.max(b));
                    let (a, b) = (value_text(field, a, n, c), value_text(field, b, n, c));
                    format!("{a}-{b}/{step}")
                })
                .boxed(),
        ),
    ];
    if field == Field::DayOfWeek {
        // cronie's `N-0` (= N-7) and `fri-sun`.
        options.push((1, (1..=7u32).prop_map(|n| format!("{n}-0")).boxed()));
        options.push((
            1,
            (1..=6u32, any::<u8>())
                .prop_map(move |(n, c)| {
                    format!("{}-{}", value_text(field, n, true, c), value_text(field, 0, true, c))
                })
                .boxed(),
        ));
    }
    proptest::strategy::Union::new_weighted(options).boxed()
}

/// A whole field: a list of one to three items, or a bare `*` with weight `star_weight`.
fn field(field: Field, star_weight: u32) -> BoxedStrategy<String> {
    let list = prop::collection::vec(item(field), 1..=3).prop_map(|items| items.join(","));
    prop_oneof![star_weight => Just("*".to_owned()), 10 => list].boxed()
}

/// A random valid five-field expression, or now and then a macro.
pub(super) fn expression() -> BoxedStrategy<String> {
    let five = (
        field(Field::Minute, 2),
        field(Field::Hour, 4),
        field(Field::DayOfMonth, 10),
        field(Field::Month, 12),
        field(Field::DayOfWeek, 10),
        prop_oneof![Just(" "), Just("  "), Just("\t")],
    )
        .prop_map(|(m, h, dom, mon, dow, sep)| [m, h, dom, mon, dow].join(sep));
    let macros = prop::sample::select(vec![
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ])
    .prop_map(str::to_owned);
    prop_oneof![40 => five, 1 => macros, 3 => week_block_expression()].boxed()
}

/// The AND case that maps to `ScheduleByMonthDayOfWeek`: a day-of-month made of whole week
/// blocks (1–7, 8–14, 15–21, 22–28) with a restricted day-of-week that starts with `*`.
fn week_block_expression() -> BoxedStrategy<String> {
    let blocks = prop::sample::subsequence(vec!["1-7", "8-14", "15-21", "22-28"], 1..=4)
        .prop_map(|blocks| blocks.join(","));
    (field(Field::Minute, 2), field(Field::Hour, 4), blocks, field(Field::Month, 12), 2..=7u32)
        .prop_map(|(m, h, dom, mon, step)| format!("{m} {h} {dom} {mon} */{step}"))
        .boxed()
}

/// Expressions with many scattered minutes and hours, to exercise the 48-trigger limit.
pub(super) fn dense_expression() -> BoxedStrategy<String> {
    let list = |max: u32, size: std::ops::RangeInclusive<usize>| {
        prop::collection::btree_set(0..=max, size)
            .prop_map(|set| set.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
    };
    (list(59, 5..=25), list(23, 3..=20), field(Field::DayOfMonth, 10), field(Field::DayOfWeek, 10))
        .prop_map(|(m, h, dom, dow)| format!("{m} {h} {dom} * {dow}"))
        .boxed()
}
