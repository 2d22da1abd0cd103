//! `--schedule`: the one place a schedule is checked, through cronie's grammar
//! ([`crate::cron::CronExpr::parse`]), whose message (field, token, rule) becomes the rule.

use crate::error::{Error, Result};

/// `--schedule`: the one place a schedule is checked — cronie's grammar through
/// [`crate::cron::CronExpr::parse`], whose message (field, token, rule) becomes the rule here.
pub fn check_schedule(text: &str) -> Result<()> {
    let expr = parse_cron("--schedule", text)?;
    if expr.never_fires() {
        return Err(Error::invalid(
            "--schedule",
            text,
            format!("this schedule never fires ({})", expr.describe()),
        ));
    }
    Ok(())
}

/// `--at-boot`: a start at boot is a scheduled start (the registration has one action,
/// `orc execute --scheduled`, for every trigger), so it serves the latest slot only when late
/// starts are accepted: catch-up `once`. With catch-up `none` it would never run anything.
pub(crate) fn check_at_boot(at_boot: bool, catch_up: crate::task::CatchUp) -> Result<()> {
    if at_boot && catch_up != crate::task::CatchUp::Once {
        return Err(Error::invalid(
            "--at-boot",
            "on",
            "a start at boot runs the latest slot missed while the machine was off, which needs \
             --catch-up once",
        ));
    }
    Ok(())
}

/// Parses a cron expression, turning the parser's error into [`Error::Invalid`] for `field`.
pub fn parse_cron(field: &str, text: &str) -> Result<crate::cron::CronExpr> {
    crate::cron::CronExpr::parse(text).map_err(|e| schedule_error(field, text, &e))
}

fn schedule_error(field: &str, text: &str, e: &crate::cron::CronError) -> Error {
    use crate::cron::CronError;
    let full = e.to_string();
    // The parser's sentences start with "invalid cron expression <expr>: "; keep the rule.
    let rule = match e {
        CronError::BadChar { expr, .. }
        | CronError::FieldCount { expr, .. }
        | CronError::Field { expr, .. }
        | CronError::Macro { expr, .. } => {
            full.strip_prefix(&format!("invalid cron expression {expr:?}: ")).map(str::to_string)
        }
        CronError::Empty | CronError::TooLong { .. } => {
            full.split_once(": ").map(|(_, rule)| rule.to_string())
        }
    };
    Error::invalid(field, text, rule.unwrap_or(full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_boot_needs_catch_up_once() {
        use crate::task::CatchUp;
        assert!(check_at_boot(false, CatchUp::None).is_ok());
        assert!(check_at_boot(true, CatchUp::Once).is_ok());
        assert_eq!(
            check_at_boot(true, CatchUp::None).unwrap_err().to_string(),
            "invalid --at-boot \"on\": a start at boot runs the latest slot missed while the \
             machine was off, which needs --catch-up once"
        );
    }

    #[test]
    fn schedules() {
        for ok in [
            "0 2 * * *",
            "*/5 * * * *",
            "0 9-17/2 * * mon-fri",
            "0 0 1,15 * 1",
            "30 4 1 jan,jul *",
            "0 0 * * 5-0",
            "0 0 * * 7",
            "0  2  *  *  *",
            " 0 2 * * * ",
            "*,10 12 * * 2",
            "@daily",
            "@midnight",
            "@annually",
        ] {
            assert!(check_schedule(ok).is_ok(), "{ok}: {:?}", check_schedule(ok));
        }
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "61 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
            "5/15 * * * *",
            "*/0 * * * *",
            "17-9 * * * *",
            "* * ? * *",
            "* * L * *",
            "* * * * 1#2",
            "H * * * *",
            "1~5 * * * *",
            "* * * * monday",
            "@reboot",
            "@every 5m",
            "0 2 * * *\u{7}",
            &("1,".repeat(200) + "1 * * * *"),
        ] {
            let e = check_schedule(bad).unwrap_err();
            let text = e.to_string();
            assert_eq!(e.exit_code(), 2);
            assert!(text.starts_with("invalid --schedule "), "{bad:?}: {text}");
            assert!(!text.contains("invalid cron expression"), "no repeated prefix: {text}");
        }
        let e = check_schedule("61 * * * *").unwrap_err().to_string();
        assert!(e.contains("minute") && e.contains("61"), "{e}");
        let e = check_schedule("* * * *").unwrap_err().to_string();
        assert!(e.contains("found 4 fields"), "{e}");
        let e = check_schedule("@reboot").unwrap_err().to_string();
        assert!(e.contains("@reboot"), "{e}");
    }
}
