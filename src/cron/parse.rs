//! The cronie grammar: text → five bitsets and the star flags.
//!
//! The parser follows cronie's `entry.c` (`load_entry`, `get_list`, `get_range`,
//! `get_number`) and is stricter only where cronie accepts something that silently never
//! runs (backwards ranges) or is not deterministic (`~`). Every error names the field, the
//! offending token and the rule.

use super::{ALL_DOM, ALL_DOW, ALL_HOURS, ALL_MONTHS, CronError, CronExpr, Field};

/// The 3-letter month names cron accepts (any case); `jan` is 1.
pub(crate) const MONTH_ABBREVIATIONS: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
/// The 3-letter day names cron accepts (any case); `sun` is 0.
pub(crate) const DAY_ABBREVIATIONS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// The rule text for Quartz/Jenkins extensions.
const QUARTZ_RULE: &str = "is not cron syntax (cronie rejects ?, L, W, #, H)";

/// An error inside one field, before the expression and field are attached:
/// (offending token, rule).
type ItemError = (String, String);

/// Parses a whole expression. See [`CronExpr::parse`].
pub(super) fn parse(text: &str) -> Result<CronExpr, CronError> {
    if text.len() > CronExpr::MAX_LEN {
        return Err(CronError::TooLong { len: text.len() });
    }
    let expr = text.trim_matches(|c: char| c.is_ascii_whitespace());
    check_chars(expr)?;
    if expr.is_empty() {
        return Err(CronError::Empty);
    }
    if let Some(name) = expr.strip_prefix('@') {
        return parse_macro(expr, name);
    }
    let fields: Vec<&str> = expr.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
    let [minute, hour, dom, month, dow] = fields[..] else {
        return Err(CronError::FieldCount { expr: expr.to_owned(), found: fields.len() });
    };
    let dow_bits = parse_field(expr, Field::DayOfWeek, dow)?;
    Ok(CronExpr {
        minutes: parse_field(expr, Field::Minute, minute)?,
        hours: narrow(parse_field(expr, Field::Hour, hour)?),
        dom: narrow(parse_field(expr, Field::DayOfMonth, dom)?),
        months: narrow(parse_field(expr, Field::Month, month)?),
        // cronie: "make sundays equivalent" — bit 7 folds onto bit 0.
        dow: narrow((dow_bits | (dow_bits >> 7)) & u64::from(ALL_DOW)),
        dom_star: dom.starts_with('*'),
        dow_star: dow.starts_with('*'),
        minute_star: minute.starts_with('*'),
        hour_star: hour.starts_with('*'),
        source: expr.to_owned(),
    })
}

/// Converts a field bitset to its storage width. The bounds checks in [`parse_value`] keep
/// every bit inside the target type, so nothing is lost.
fn narrow<T: TryFrom<u64> + Default>(bits: u64) -> T {
    T::try_from(bits).unwrap_or_default()
}

/// Rejects control characters and anything outside printable ASCII (tabs are separators).
fn check_chars(expr: &str) -> Result<(), CronError> {
    let bad = expr.chars().enumerate().find(|&(_, c)| !(c == '\t' || (' '..='~').contains(&c)));
    match bad {
        Some((index, ch)) => {
            Err(CronError::BadChar { expr: expr.to_owned(), ch, position: index + 1 })
        }
        None => Ok(()),
    }
}

/// Expands `@name` the way cronie does, including its star flags.
fn parse_macro(expr: &str, rest: &str) -> Result<CronExpr, CronError> {
    let macro_error = |rule: String| CronError::Macro { expr: expr.to_owned(), rule };
    let (name, extra) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
    if !extra.trim().is_empty() {
        return Err(macro_error(format!(
            "a macro such as @{name} stands alone, but it is followed by {:?}",
            extra.trim()
        )));
    }
    let base = CronExpr {
        minutes: 1,
        hours: 1,
        dom: ALL_DOM,
        months: ALL_MONTHS,
        dow: ALL_DOW,
        dom_star: false,
        dow_star: false,
        minute_star: false,
        hour_star: false,
        source: expr.to_owned(),
    };
    let parsed = match name {
        // "0 0 1 1 *" with only DOW_STAR set.
        "yearly" | "annually" => CronExpr { dom: 1 << 1, months: 1 << 1, dow_star: true, ..base },
        // "0 0 1 * *" with only DOW_STAR set.
        "monthly" => CronExpr { dom: 1 << 1, dow_star: true, ..base },
        // "0 0 * * 0" with only DOM_STAR set.
        "weekly" => CronExpr { dow: 1, dom_star: true, ..base },
        // "0 0 * * *" with no flags.
        "daily" | "midnight" => base,
        // "0 * * * *" with HR_STAR set, so it is a wildcard job.
        "hourly" => CronExpr { hours: ALL_HOURS, hour_star: true, ..base },
        "reboot" => {
            return Err(macro_error(
                "@reboot is not supported: orc has no boot trigger (schedule the task with a \
                 time-based expression instead)"
                    .to_owned(),
            ));
        }
        _ => {
            let known = [
                "yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly", "reboot",
            ];
            let hint = if known.contains(&name.to_ascii_lowercase().as_str()) {
                "; macros are lowercase"
            } else {
                ""
            };
            return Err(macro_error(format!(
                "\"@{name}\" is not a cron macro (use @yearly, @annually, @monthly, @weekly, \
                 @daily, @midnight or @hourly){hint}"
            )));
        }
    };
    Ok(parsed)
}

/// The inclusive value bounds of a field as written (day-of-week allows 7 for Sunday).
pub(super) fn bounds(field: Field) -> (u32, u32) {
    match field {
        Field::Minute => (0, 59),
        Field::Hour => (0, 23),
        Field::DayOfMonth => (1, 31),
        Field::Month => (1, 12),
        Field::DayOfWeek => (0, 7),
    }
}

/// The names a field accepts, the value of the first name, and the full English names
/// (only recognised to explain that cron takes the 3-letter ones).
fn names(field: Field) -> Option<(&'static [&'static str], u32, &'static [&'static str])> {
    match field {
        Field::Month => Some((&MONTH_ABBREVIATIONS, 1, &super::MONTH_NAMES)),
        Field::DayOfWeek => Some((&DAY_ABBREVIATIONS, 0, &super::DAY_NAMES)),
        _ => None,
    }
}

/// Parses one field (a comma-separated list) into a bitset over the field's written range.
fn parse_field(expr: &str, field: Field, text: &str) -> Result<u64, CronError> {
    let to_error =
        |(token, rule): ItemError| CronError::Field { expr: expr.to_owned(), field, token, rule };
    if text.split(',').any(str::is_empty) {
        let rule = "has an empty item in its comma-separated list".to_owned();
        return Err(to_error((text.to_owned(), rule)));
    }
    let mut bits = 0u64;
    for item in text.split(',') {
        bits |= parse_item(field, item).map_err(to_error)?;
    }
    Ok(bits)
}

/// Parses one list item: `*`, `*/s`, `n`, `n-m` or `n-m/s`.
fn parse_item(field: Field, item: &str) -> Result<u64, ItemError> {
    check_item_chars(item)?;
    let (range, step_text) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    let step = step_text.map(|s| parse_step(item, s)).transpose()?;
    let (first, last) = parse_range(field, item, range, step)?;
    let step = step.unwrap_or(1);
    let mut bits = 0u64;
    let mut value = first;
    while value <= last {
        bits |= 1 << value;
        value = value.saturating_add(step);
    }
    Ok(bits)
}

/// Rejects characters that never occur in cronie syntax, with specific rules for the
/// Quartz `?`/`#` and cronie's own random `~`.
fn check_item_chars(item: &str) -> Result<(), ItemError> {
    for c in item.chars() {
        match c {
            '?' | '#' => return Err((item.to_owned(), QUARTZ_RULE.to_owned())),
            '~' => {
                let rule = "uses cronie's random ~ syntax, which orc rejects because the \
                            schedule would not be deterministic";
                return Err((item.to_owned(), rule.to_owned()));
            }
            '0'..='9' | 'a'..='z' | 'A'..='Z' | '*' | '-' | '/' => {}
            other => {
                return Err((
                    item.to_owned(),
                    format!("contains {other:?}, which is not cron syntax"),
                ));
            }
        }
    }
    Ok(())
}

/// Parses the step after `/`: a plain number of at least 1. Steps larger than the range
/// are accepted (`0-59/70` is minute 0), as in cronie.
fn parse_step(item: &str, text: &str) -> Result<u32, ItemError> {
    let error = |rule: &str| Err((item.to_owned(), rule.to_owned()));
    if text.is_empty() {
        return error("has an empty step after /");
    }
    if text.contains('/') {
        return error("has more than one /");
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return error("has a step that is not a number (steps are plain numbers, e.g. */15)");
    }
    let significant = text.trim_start_matches('0');
    if significant.len() > 9 {
        return error("has a step that is too large");
    }
    match significant.parse::<u32>() {
        _ if significant.is_empty() => error("has a step of 0 (the step must be at least 1)"),
        Ok(step) => Ok(step),
        Err(_) => error("has a step that is too large"),
    }
}

/// Parses the part before `/` into inclusive bounds.
fn parse_range(
    field: Field,
    item: &str,
    range: &str,
    step: Option<u32>,
) -> Result<(u32, u32), ItemError> {
    let (low, high) = bounds(field);
    if range.is_empty() {
        return Err((item.to_owned(), "is missing a value before /".to_owned()));
    }
    if range == "*" {
        return Ok((low, high));
    }
    if range.contains('*') {
        let rule = "uses * inside a value; * must stand alone or be followed by /step";
        return Err((item.to_owned(), rule.to_owned()));
    }
    let Some((start_text, end_text)) = range.split_once('-') else {
        let value = parse_value(field, range)?;
        if let Some(step) = step {
            let rule = format!(
                "puts a step after a single value, which cronie rejects (write \
                 {range}-{}/{step} or */{step})",
                display_max(field)
            );
            return Err((item.to_owned(), rule));
        }
        return Ok((value, value));
    };
    if start_text.is_empty() {
        return Err((item.to_owned(), "is missing the start of the range".to_owned()));
    }
    if end_text.is_empty() {
        return Err((item.to_owned(), "is missing the end of the range".to_owned()));
    }
    if end_text.contains('-') {
        return Err((item.to_owned(), "has more than one -".to_owned()));
    }
    let start = parse_value(field, start_text)?;
    let end = parse_value(field, end_text)?;
    if start <= end {
        return Ok((start, end));
    }
    if field == Field::DayOfWeek && end == 0 && step.is_none() {
        // cronie entry.c: in day-of-week, `N-0` means `N-7` (fri-sun is Friday to Sunday).
        return Ok((start, 7));
    }
    Err((item.to_owned(), backwards_rule(field, (start_text, start), (end_text, end), step)))
}

/// The rule text for a backwards range, with a rewrite hint when one is exact.
fn backwards_rule(
    field: Field,
    (start_text, start): (&str, u32),
    (end_text, _end): (&str, u32),
    step: Option<u32>,
) -> String {
    let base = "is a backwards range: cron ranges do not wrap around, and cronie would \
                silently never run it";
    if step.is_some() {
        if field == Field::DayOfWeek && (end_text == "0" || end_text.eq_ignore_ascii_case("sun")) {
            return format!("{base} (N-0 means N-7 only without a step)");
        }
        return base.to_owned();
    }
    let is_name = |text: &str| text.bytes().all(|b| b.is_ascii_alphabetic());
    let (low, high) = match names(field) {
        Some((list, _, _)) if is_name(start_text) && is_name(end_text) => {
            (list[0].to_owned(), list[list.len() - 1].to_owned())
        }
        _ if !is_name(start_text) && !is_name(end_text) && start <= display_max(field) => {
            (bounds(field).0.to_string(), display_max(field).to_string())
        }
        _ => return base.to_owned(),
    };
    format!("{base} (to wrap, write {start_text}-{high},{low}-{end_text})")
}

/// The largest value worth suggesting in a hint (6 for day-of-week, not the alias 7).
fn display_max(field: Field) -> u32 {
    match field {
        Field::DayOfWeek => 6,
        other => bounds(other).1,
    }
}

/// Parses a single value: a number in range, or a 3-letter name where names are allowed.
fn parse_value(field: Field, token: &str) -> Result<u32, ItemError> {
    let (low, high) = bounds(field);
    let error = |rule: String| Err((token.to_owned(), rule));
    if token.bytes().all(|b| b.is_ascii_digit()) {
        // Leading zeros are fine, as in cronie (`atoi`).
        let significant = token.trim_start_matches('0');
        return match significant.parse::<u32>() {
            _ if significant.is_empty() && low == 0 => Ok(0),
            Ok(value) if significant.len() <= 4 && (low..=high).contains(&value) => Ok(value),
            _ => error(out_of_range_rule(field)),
        };
    }
    if token.bytes().all(|b| b.is_ascii_alphabetic()) {
        return parse_name(field, token);
    }
    if looks_like_quartz(token) {
        return error(QUARTZ_RULE.to_owned());
    }
    error("is not a number".to_owned())
}

/// The rule text for a number outside the field's range.
fn out_of_range_rule(field: Field) -> String {
    let (low, high) = bounds(field);
    match field {
        Field::DayOfWeek => format!("is out of range {low}-{high} (0 and 7 are Sunday)"),
        _ => format!("is out of range {low}-{high}"),
    }
}

/// Parses an alphabetic token: a 3-letter name, or an explanation of why it is not one.
fn parse_name(field: Field, token: &str) -> Result<u32, ItemError> {
    let lower = token.to_ascii_lowercase();
    let error = |rule: String| Err((token.to_owned(), rule));
    if let Some((list, first, _)) = names(field)
        && let Some(index) = list.iter().position(|name| *name == lower)
    {
        return Ok(first + u32::try_from(index).unwrap_or(0));
    }
    if matches!(lower.as_str(), "l" | "w" | "lw" | "h") {
        return error(QUARTZ_RULE.to_owned());
    }
    let Some((list, _, full)) = names(field) else {
        return error(
            "is a name, but names are only allowed in the month and day-of-week fields".to_owned(),
        );
    };
    let full_match = full.iter().position(|name| name.to_ascii_lowercase().starts_with(&lower));
    if let (true, Some(index)) = (lower.len() > 3, full_match) {
        return error(format!(
            "is a full name; cron accepts only 3-letter names such as {:?}",
            list[index]
        ));
    }
    error(format!("is not a {} name (use {}–{})", field, list[0], list[list.len() - 1]))
}

/// `5L`, `15W`, `L3`: Quartz forms that mix digits with `L`/`W`.
fn looks_like_quartz(token: &str) -> bool {
    let upper = token.to_ascii_uppercase();
    let letters: Vec<char> = upper.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    !letters.is_empty()
        && letters.iter().all(|c| matches!(c, 'L' | 'W'))
        && upper.chars().all(|c| c.is_ascii_alphanumeric())
}
