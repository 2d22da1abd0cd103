//! Legacy "windows" schedules (a JSON object of schtasks `/Create` parameters) → cron.
//!
//! Only shapes whose fire times a cron expression reproduces exactly are translated; anything
//! else is `Err(reason)` and the task comes over disabled (never with a guessed schedule).
//!
//! | legacy                                   | cron              |
//! |------------------------------------------|-------------------|
//! | `{"sc":"MINUTE","mo":N}` (60 % N == 0)    | `*/N * * * *`     |
//! | `{"sc":"HOURLY","mo":N,"st":"HH:MM"}` (24 % N == 0) | `MM H0-23/N * * *` (`*/N` when H0 = 0) |
//! | `{"sc":"DAILY","st":"HH:MM"}`             | `MM HH * * *`     |
//! | `{"sc":"WEEKLY","d":"MON,FRI","st":"HH:MM"}` | `MM HH * * 1,5` |
//! | `{"sc":"MONTHLY","d":"1,15","st":"HH:MM"}` (optional `m`) | `MM HH 1,15 * *` |

use serde_json::{Map, Value};

/// Translates one legacy windows-style schedule; `Err` says why it cannot be expressed exactly.
pub fn translate(json: &str) -> Result<String, String> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| format!("not a JSON object ({e})"))?;
    let Value::Object(raw) = value else {
        return Err("not a JSON object".into());
    };
    let mut p = Map::new();
    for (k, v) in raw {
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            other => return Err(format!("parameter {k:?} has an unsupported value {other}")),
        };
        p.insert(k.to_ascii_lowercase(), Value::String(text));
    }
    let get = |k: &str| p.get(k).and_then(Value::as_str);
    let sc = get("sc").ok_or("no \"sc\" (schedule kind)")?.to_ascii_uppercase();
    let allowed: &[&str] = match sc.as_str() {
        "MINUTE" => &["sc", "mo", "st"],
        "HOURLY" => &["sc", "mo", "st"],
        "DAILY" => &["sc", "mo", "st"],
        "WEEKLY" => &["sc", "mo", "d", "st"],
        "MONTHLY" => &["sc", "mo", "d", "m", "st"],
        other => return Err(format!("schedule kind {other} has no cron equivalent")),
    };
    if let Some(extra) = p.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("parameter {extra:?} of a {sc} schedule has no exact cron equivalent"));
    }
    let mo = match get("mo") {
        None => 1,
        Some(t) => t
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("modifier \"mo\" {t:?} is not a positive whole number"))?,
    };
    let start = get("st").map(parse_time).transpose()?;
    match sc.as_str() {
        "MINUTE" => {
            if 60 % mo != 0 {
                return Err(format!(
                    "every {mo} minutes does not divide the hour, so no cron expression fires \
                     at the same times"
                ));
            }
            let first = start.map_or(0, |(_, m)| m % mo);
            Ok(format!("{} * * * *", step(first, mo, 59)))
        }
        "HOURLY" => {
            if 24 % mo != 0 {
                return Err(format!(
                    "every {mo} hours does not divide the day, so no cron expression fires at \
                     the same times"
                ));
            }
            let (h, m) = start.ok_or("an HOURLY schedule needs a start time \"st\"")?;
            Ok(format!("{m} {} * * *", step(h % mo, mo, 23)))
        }
        "DAILY" => {
            if mo != 1 {
                return Err(format!(
                    "every {mo} days counts from the start date across month ends; cron cannot \
                     express it"
                ));
            }
            let (h, m) = start.ok_or("a DAILY schedule needs a start time \"st\"")?;
            Ok(format!("{m} {h} * * *"))
        }
        "WEEKLY" => {
            if mo != 1 {
                return Err(format!("every {mo} weeks has no cron equivalent"));
            }
            let (h, m) = start.ok_or("a WEEKLY schedule needs a start time \"st\"")?;
            let days = get("d").ok_or("a WEEKLY schedule needs days \"d\"")?;
            Ok(format!("{m} {h} * * {}", weekdays(days)?))
        }
        _ => {
            if mo != 1 {
                return Err(format!(
                    "every {mo} months counts from the start date; cron cannot express it"
                ));
            }
            let (h, m) = start.ok_or("a MONTHLY schedule needs a start time \"st\"")?;
            let days = get("d").ok_or("a MONTHLY schedule needs days of the month \"d\"")?;
            let months = get("m").map(months).transpose()?.unwrap_or_else(|| "*".into());
            Ok(format!("{m} {h} {} {months} *", month_days(days)?))
        }
    }
}

fn step(first: u32, every: u32, max: u32) -> String {
    match (every, first) {
        (1, _) => "*".into(),
        (_, 0) => format!("*/{every}"),
        _ => format!("{first}-{max}/{every}"),
    }
}

fn parse_time(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("start time \"st\" {text:?} is not HH:MM");
    let mut parts = text.split(':');
    let h: u32 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let m: u32 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    match parts.next() {
        None => {}
        Some(s) if s.parse::<u32>() == Ok(0) => {}
        Some(_) => return Err(format!("start time {text:?} has seconds; cron has minutes only")),
    }
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((h, m))
}

fn weekdays(text: &str) -> Result<String, String> {
    numbered(text, &crate::cron::DAY_ABBREVIATIONS, 0, "day")
}

fn months(text: &str) -> Result<String, String> {
    numbered(text, &crate::cron::MONTH_ABBREVIATIONS, 1, "month")
}

/// A comma-separated list of 3-letter names (`MON,WED`; any case) as sorted cron numbers
/// (`first` is the number of the first name); `*` stays `*`.
fn numbered(text: &str, names: &[&str], first: usize, what: &str) -> Result<String, String> {
    if text == "*" {
        return Ok("*".into());
    }
    let mut out = Vec::new();
    for name in text.split(',') {
        let name = name.trim().to_ascii_uppercase();
        let n = names
            .iter()
            .position(|x| x.eq_ignore_ascii_case(&name))
            .ok_or_else(|| format!("unknown {what} {name:?}"))?;
        if !out.contains(&(n + first)) {
            out.push(n + first);
        }
    }
    out.sort_unstable();
    Ok(out.iter().map(usize::to_string).collect::<Vec<_>>().join(","))
}

fn month_days(text: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for d in text.split(',') {
        let d = d.trim();
        let n: u32 = d
            .parse()
            .ok()
            .filter(|n| (1..=31).contains(n))
            .ok_or_else(|| format!("day of month {d:?} has no exact cron equivalent"))?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn known_shapes_translate_exactly() {
        let table = [
            (r#"{"sc":"WEEKLY","d":"MON","st":"08:00"}"#, "0 8 * * 1"),
            (r#"{"sc":"WEEKLY","d":"fri,MON","st":"17:45"}"#, "45 17 * * 1,5"),
            (r#"{"sc":"WEEKLY","d":"SUN","st":"00:00"}"#, "0 0 * * 0"),
            (r#"{"sc":"DAILY","st":"02:30"}"#, "30 2 * * *"),
            (r#"{"sc":"DAILY","mo":"1","st":"23:59:00"}"#, "59 23 * * *"),
            (r#"{"sc":"HOURLY","mo":"2","st":"00:15"}"#, "15 */2 * * *"),
            (r#"{"sc":"HOURLY","mo":"2","st":"01:15"}"#, "15 1-23/2 * * *"),
            (r#"{"sc":"HOURLY","mo":"6","st":"14:00"}"#, "0 2-23/6 * * *"),
            (r#"{"sc":"HOURLY","st":"09:05"}"#, "5 * * * *"),
            (r#"{"sc":"MINUTE","mo":"5"}"#, "*/5 * * * *"),
            (r#"{"sc":"MINUTE","mo":15,"st":"00:05"}"#, "5-59/15 * * * *"),
            (r#"{"sc":"MINUTE"}"#, "* * * * *"),
            (r#"{"SC":"monthly","D":"1,15","ST":"06:00"}"#, "0 6 1,15 * *"),
            (r#"{"sc":"MONTHLY","d":"1","m":"JAN,JUL","st":"06:00"}"#, "0 6 1 1,7 *"),
        ];
        for (legacy, cron) in table {
            assert_eq!(translate(legacy).as_deref(), Ok(cron), "{legacy}");
            crate::task::validate::check_schedule(cron).unwrap();
        }
    }

    #[test]
    fn inexact_or_unknown_shapes_are_refused_with_a_reason() {
        let table = [
            (r#"{"sc":"MINUTE","mo":"7"}"#, "does not divide the hour"),
            (r#"{"sc":"HOURLY","mo":"5","st":"00:00"}"#, "does not divide the day"),
            (r#"{"sc":"HOURLY","mo":"2"}"#, "needs a start time"),
            (r#"{"sc":"DAILY","mo":"3","st":"01:00"}"#, "every 3 days"),
            (r#"{"sc":"WEEKLY","mo":"2","d":"MON","st":"01:00"}"#, "every 2 weeks"),
            (r#"{"sc":"WEEKLY","d":"MOON","st":"01:00"}"#, "unknown day"),
            (r#"{"sc":"MONTHLY","mo":"LASTDAY","st":"01:00"}"#, "not a positive"),
            (r#"{"sc":"ONSTART"}"#, "no cron equivalent"),
            (r#"{"sc":"ONCE","st":"10:00","sd":"2025-01-01"}"#, "no cron equivalent"),
            (r#"{"sc":"DAILY","st":"02:30","du":"01:00"}"#, "\"du\""),
            (r#"{"sc":"DAILY","st":"25:00"}"#, "not HH:MM"),
            (r#"{"sc":"DAILY","st":"02:30:10"}"#, "seconds"),
            (r#"["DAILY"]"#, "not a JSON object"),
            ("0 5 * * *", "not a JSON object"),
            (r#"{"st":"02:30"}"#, "no \"sc\""),
        ];
        for (legacy, why) in table {
            let err = translate(legacy).unwrap_err();
            assert!(err.contains(why), "{legacy}: {err}");
        }
    }
}
