//! `/Create`: the `/XML` route (§4) and the classic `/SC` route (§1), which builds the
//! equivalent task XML (§1.5) and then goes through the same validation and storage.

use chrono::{Datelike, NaiveDate, NaiveTime};

use crate::cli::{Args, Verb, mandatory, syntax};
use crate::config::Mode;
use crate::model::{WellKnown, well_known};
use crate::out::{
    Code, Fail, HR_ACCESS_DENIED, HR_ALREADY_EXISTS, HR_FILE_NOT_FOUND, HR_INVALID_NAME,
    HR_NAME_TOO_LONG, HR_NOT_SUPPORTED, Res,
};
use crate::store::{State, Store, TaskPath};
use crate::xml::Element;
use crate::{Ctx, confirm, store_bytes, xml_reject};

/// `/TR` values longer than this are refused (measured 261, docs say 262; §1.4).
const TR_MAX: usize = 261;

/// A CLI validation error: `ERROR:` line only, exit E_FAIL ([U] exit code, §8).
fn cli_error(ctx: &Ctx, body: &str) -> Fail {
    Fail { stdout: Vec::new(), stderr: vec![ctx.tr.error(body)], code: Code::Syntax }
}

/// Validates a `/TN` for creation (§1.4).
pub(crate) fn check_task_name(ctx: &Ctx, tn: &str) -> Res<TaskPath> {
    let bad = || {
        Fail::runtime(
            ctx.tr.error("The filename, directory name, or volume label syntax is incorrect."),
            HR_INVALID_NAME,
        )
    };
    let path = TaskPath::parse(tn).ok_or_else(bad)?;
    for c in &path.comps {
        let forbidden = c.chars().any(|ch| "/:*?\"<>|".contains(ch) || (ch as u32) < 0x20);
        if forbidden || c == "." || c == ".." || c.starts_with(' ') || c.ends_with(' ') {
            return Err(bad());
        }
    }
    if path.display().chars().count() > 238 {
        // [U] text: ERROR_FILENAME_EXCED_RANGE.
        return Err(Fail::runtime(
            ctx.tr.error("The filename or extension is too long."),
            HR_NAME_TOO_LONG,
        ));
    }
    Ok(path)
}

/// Splits a `/TR` value into Exec Command and Arguments: a leading quoted program keeps
/// its quotes (Task To Run then shows them, as in [B1]); otherwise the first word.
pub(crate) fn split_tr(tr: &str) -> (String, Option<String>) {
    let t = tr.trim_start();
    let (cmd, rest) = if let Some(inner) = t.strip_prefix('"') {
        match inner.find('"') {
            Some(end) => (&t[..end + 2], &t[end + 2..]),
            None => (t, ""),
        }
    } else {
        match t.find([' ', '\t']) {
            Some(i) => (&t[..i], &t[i..]),
            None => (t, ""),
        }
    };
    let rest = rest.trim_start();
    (cmd.to_string(), if rest.is_empty() { None } else { Some(rest.to_string()) })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Whether a definition needs an elevated caller (§7 "non-elevated" list, §4.8). A boot
/// trigger does too: "Only a member of the Administrators group can create a task with a boot
/// trigger" (Microsoft, "BootTrigger object", Remarks) — the XML twin of CLI `/SC ONSTART`.
pub(crate) fn needs_elevation(root: &Element) -> bool {
    if root.child("Triggers").is_some_and(|t| t.elems().any(|e| e.local == "BootTrigger")) {
        return true;
    }
    let Some(p) = root.child("Principals").and_then(|p| p.child("Principal")) else {
        return false;
    };
    p.child_text("UserId").is_some_and(|u| well_known(&u).is_some())
        || p.child_text("RunLevel").as_deref() == Some("HighestAvailable")
        || p.child_text("LogonType").as_deref() == Some("S4U")
}

/// Checks `/RU user /RP password` against `FAKE_SCHTASKS_ACCOUNTS` (when set).
pub(crate) fn check_password(ctx: &Ctx, user: &str, password: Option<&str>) -> Res {
    let Some(accounts) = &ctx.cfg.accounts else { return Ok(()) };
    let bare = user.rsplit('\\').next().unwrap_or(user);
    let ok =
        accounts.iter().any(|(u, p)| u.eq_ignore_ascii_case(bare) && Some(p.as_str()) == password);
    if ok {
        Ok(())
    } else {
        Err(Fail::runtime(
            ctx.tr.error("The user name or password is incorrect."),
            crate::out::HR_LOGON_FAILURE,
        ))
    }
}

/// The password for `/RP` (given, `*`/absent → prompted on stdout and read from stdin).
pub(crate) fn run_as_password(ctx: &Ctx, args: &Args, user: &str) -> Option<String> {
    match args.get("RP") {
        Some(o) => match o.value.as_deref() {
            Some("*") | None => Some(crate::prompt_line(
                ctx,
                &format!("Please enter the run as password for {user}: "),
            )),
            Some(v) => Some(v.to_string()),
        },
        None => None,
    }
}

/// Applies `/RU` [`/RP`] to a definition's principal (used by `/Create /XML` and `/Change`).
/// Returns whether the new principal is privileged.
pub(crate) fn apply_run_as(
    ctx: &Ctx,
    args: &Args,
    root: &mut Element,
    interactive: bool,
) -> Res<bool> {
    let Some(ru) = args.val("RU") else {
        if args.has("RP") {
            // `/RP` alone: the password of the definition's own account.
            let user = root
                .child("Principals")
                .and_then(|p| p.child("Principal"))
                .and_then(|p| p.child_text("UserId"))
                .unwrap_or_else(|| ctx.cfg.user.clone());
            let pw = run_as_password(ctx, args, &user);
            check_password(ctx, &user, pw.as_deref())?;
        }
        return Ok(false);
    };
    let principals = root.child_or_insert("Principals");
    let p = principals.child_or_insert("Principal");
    if p.attr("id").is_none() {
        p.set_attr("id", "Author");
    }
    p.remove_child("GroupId");
    match well_known(ru) {
        Some(w) => {
            let sid = match w {
                WellKnown::System => "S-1-5-18",
                WellKnown::LocalService => "S-1-5-19",
                WellKnown::NetworkService => "S-1-5-20",
            };
            p.child_or_insert("UserId").set_text(sid);
            p.remove_child("LogonType");
            Ok(true)
        }
        None => {
            p.child_or_insert("UserId").set_text(ru);
            if interactive {
                p.child_or_insert("LogonType").set_text("InteractiveToken");
            } else {
                let pw = run_as_password(ctx, args, ru).or_else(|| {
                    Some(crate::prompt_line(
                        ctx,
                        &format!("Please enter the run as password for {ru}: "),
                    ))
                });
                check_password(ctx, ru, pw.as_deref())?;
                p.child_or_insert("LogonType").set_text("Password");
            }
            Ok(false)
        }
    }
}

/// Stores a validated definition under `path` (replacing an existing one, keeping its
/// run history) and prints the SUCCESS line.
fn register(ctx: &Ctx, store: &Store, path: &TaskPath, tn: &str, bytes: &[u8]) -> Res {
    let _lock = store.lock();
    if store.folder_exists(&path.comps) {
        // A folder of that name already exists where the task should go.
        return Err(Fail::runtime(
            ctx.tr.error("Cannot create a file when that file already exists."),
            HR_ALREADY_EXISTS,
        ));
    }
    if store.ensure_folders(path.folder()).is_err() {
        return Err(Fail::runtime(
            ctx.tr.error("Cannot create a file when that file already exists."),
            HR_ALREADY_EXISTS,
        ));
    }
    let now = ctx.now.format("%Y-%m-%dT%H:%M:%S").to_string();
    let state = match store.read_task(path) {
        Some(old) => State { name: path.leaf().to_string(), ..old.state },
        None => State::new(path.leaf(), now),
    };
    store.write_task(path, Some(bytes), &state);
    ctx.out.line(&ctx.tr.created(tn));
    Ok(())
}

/// The prompt for an existing task without `/F`. `Ok(())` = go ahead.
fn replace_ok(ctx: &Ctx, store: &Store, path: &TaskPath, tn: &str, force: bool) -> Res {
    if force || !store.task_exists(path) {
        return Ok(());
    }
    if confirm(ctx, &ctx.tr.replace_prompt(tn)) {
        Ok(())
    } else {
        Err(Fail::silent(crate::out::HR_CANCELLED))
    }
}

pub(crate) fn create(ctx: &Ctx, args: &Args) -> Res {
    let tr = ctx.tr;
    let Some(tn) = args.val("TN").map(str::to_string) else {
        return Err(mandatory(tr, Verb::Create, "tn"));
    };
    if args.has("XML") {
        let not_with_xml = [
            "SC", "MO", "D", "M", "I", "TR", "ST", "RI", "ET", "DU", "K", "SD", "ED", "IT", "NP",
            "Z", "RL", "DELAY", "EC", "V1",
        ];
        if let Some(o) = args.first_of(&not_with_xml) {
            // [U] the exact refusal of /XML combined with schedule switches.
            return Err(syntax(tr, Verb::Create, tr.invalid_argument(&o.typed)));
        }
        return create_xml(ctx, args, &tn);
    }
    if !args.has("SC") {
        return Err(mandatory(tr, Verb::Create, "sc"));
    }
    create_sc(ctx, args, &tn)
}

fn create_xml(ctx: &Ctx, args: &Args, tn: &str) -> Res {
    let conn = ctx.connect(args, true)?;
    let store = &conn.store;
    let file = args.val("XML").unwrap_or_default();
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Fail::runtime(ctx.tr.file_not_found(), HR_FILE_NOT_FOUND));
        }
        Err(_) => return Err(Fail::runtime(ctx.tr.access_denied(), HR_ACCESS_DENIED)),
    };
    let path = check_task_name(ctx, tn)?;
    replace_ok(ctx, store, &path, tn, args.has("F"))?;
    let text = crate::xml::decode(&bytes).map_err(|e| xml_reject(ctx, crate::XmlFailure::Wf(e)))?;
    let mut root =
        crate::xml::parse(&text).map_err(|e| xml_reject(ctx, crate::XmlFailure::Wf(e)))?;
    crate::schema::validate(&root).map_err(|r| xml_reject(ctx, crate::XmlFailure::Schema(r)))?;
    let actions = root.child("Actions");
    if actions
        .is_some_and(|a| a.elems().any(|x| x.local == "SendEmail" || x.local == "ShowMessage"))
    {
        // Deprecated since Windows 8: registration fails ([U] exact text).
        return Err(Fail::runtime(ctx.tr.error("The request is not supported."), HR_NOT_SUPPORTED));
    }
    let ru_privileged = apply_run_as(ctx, args, &mut root, false)?;
    if ctx.cfg.mode == Mode::NonElevated && (ru_privileged || needs_elevation(&root)) {
        return Err(Fail::runtime(ctx.tr.access_denied(), HR_ACCESS_DENIED));
    }
    // Windows keeps its normalized form of the definition, not the bytes it was given.
    crate::normalize::normalize(&mut root, &path.display(), &ctx.cfg.user);
    register(ctx, store, &path, tn, &store_bytes(&root))
}

// ---------------------------------------------------------------------------------------
// /SC
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sc {
    Minute,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Once,
    OnStart,
    OnLogon,
    OnIdle,
    OnEvent,
}

fn parse_hhmm(
    s: &str,
    max_hours: u32,
    hour_digits: std::ops::RangeInclusive<usize>,
) -> Option<(u32, u32)> {
    let (h, m) = s.split_once(':')?;
    if !hour_digits.contains(&h.len()) || m.len() != 2 {
        return None;
    }
    if !h.bytes().all(|b| b.is_ascii_digit()) || !m.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= max_hours && m < 60).then_some((h, m))
}

const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

fn parse_weekdays(s: &str) -> Option<[bool; 7]> {
    if s == "*" {
        return Some([true; 7]);
    }
    let mut days = [false; 7];
    for part in s.split(',') {
        let i = WEEKDAYS.iter().position(|d| d.eq_ignore_ascii_case(part.trim()))?;
        days[i] = true;
    }
    Some(days)
}

fn parse_months(s: &str) -> Option<[bool; 12]> {
    if s == "*" {
        return Some([true; 12]);
    }
    let mut months = [false; 12];
    for part in s.split(',') {
        let i = MONTHS.iter().position(|d| d.eq_ignore_ascii_case(part.trim()))?;
        months[i] = true;
    }
    Some(months)
}

fn days_xml(days: &[bool; 7]) -> String {
    (0..7)
        .filter(|&i| days[i])
        .map(|i| format!("<{} />", crate::model::DAY_NAMES[i]))
        .collect::<Vec<_>>()
        .join("")
}

fn months_xml(months: &[bool; 12]) -> String {
    (0..12)
        .filter(|&i| months[i])
        .map(|i| format!("<{} />", crate::model::MONTH_NAMES[i]))
        .collect::<Vec<_>>()
        .join("")
}

fn max_days(months: &[bool; 12]) -> u32 {
    const LEN: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (0..12).filter(|&i| months[i]).map(|i| LEN[i]).min().unwrap_or(31)
}

fn create_sc(ctx: &Ctx, args: &Args, tn: &str) -> Res {
    let tr = ctx.tr;
    let sc_raw = args.val("SC").unwrap_or_default();
    let sc = match sc_raw.to_ascii_uppercase().as_str() {
        "MINUTE" => Sc::Minute,
        "HOURLY" => Sc::Hourly,
        "DAILY" => Sc::Daily,
        "WEEKLY" => Sc::Weekly,
        "MONTHLY" => Sc::Monthly,
        "ONCE" => Sc::Once,
        "ONSTART" => Sc::OnStart,
        "ONLOGON" => Sc::OnLogon,
        "ONIDLE" => Sc::OnIdle,
        "ONEVENT" => Sc::OnEvent,
        _ => return Err(syntax(tr, Verb::Create, tr.error("Invalid Schedule Type specified."))),
    };
    let Some(tr_value) = args.val("TR") else {
        return Err(mandatory(tr, Verb::Create, "tr"));
    };
    if tr_value.chars().count() > TR_MAX {
        return Err(cli_error(ctx, "Value for '/TR' option cannot be more than 261 character(s)."));
    }
    let event_like = matches!(sc, Sc::OnStart | Sc::OnLogon | Sc::OnIdle | Sc::OnEvent);
    if event_like && args.first_of(&["RI", "DU", "ST", "SD", "ET", "ED", "K"]).is_some() {
        return Err(syntax(
            tr,
            Verb::Create,
            tr.error(
                "The options /RI, /DU, /ST, /SD, /ET, /ED and /K  are not applicable for the scheduled types: ONSTART, ONLOGON, ONIDLE, ONEVENT.",
            ),
        ));
    }
    let not_applicable = |opt: &str| {
        // [U] wording.
        syntax(
            tr,
            Verb::Create,
            tr.error(&format!(
                "The /{opt} option is not applicable for the specified schedule type."
            )),
        )
    };
    if matches!(sc, Sc::Minute | Sc::Hourly) && args.has("RI") {
        return Err(not_applicable("RI"));
    }
    if args.has("D") && !matches!(sc, Sc::Weekly | Sc::Monthly) {
        return Err(not_applicable("D"));
    }
    if args.has("M") && sc != Sc::Monthly {
        return Err(not_applicable("M"));
    }
    if args.has("I") && sc != Sc::OnIdle {
        return Err(not_applicable("I"));
    }
    if args.has("EC") && sc != Sc::OnEvent {
        return Err(not_applicable("EC"));
    }
    if args.has("DELAY") && !matches!(sc, Sc::OnStart | Sc::OnLogon | Sc::OnEvent) {
        return Err(not_applicable("DELAY"));
    }
    if args.has("MO") && matches!(sc, Sc::Once | Sc::OnStart | Sc::OnLogon | Sc::OnIdle) {
        return Err(not_applicable("MO"));
    }
    if args.has("ET") && args.has("DU") {
        return Err(syntax(
            tr,
            Verb::Create,
            tr.error("The /ET and /DU options are mutually exclusive."),
        )); // [U]
    }
    if args.has("K") && !args.has("ET") && !args.has("DU") {
        return Err(syntax(tr, Verb::Create, tr.error("The /K option requires /ET or /DU."))); // [U]
    }
    if args.has("IT") && args.has("NP") {
        return Err(syntax(
            tr,
            Verb::Create,
            tr.error("The /IT and /NP options are mutually exclusive."),
        )); // [U]
    }

    // Values.
    let now = ctx.now;
    let st = match args.val("ST") {
        Some(v) => match parse_hhmm(v, 23, 2..=2) {
            Some((h, m)) => NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default(),
            None => return Err(cli_error(ctx, "Invalid starttime value.")),
        },
        None => {
            if sc == Sc::Once {
                return Err(mandatory(tr, Verb::Create, "st"));
            }
            NaiveTime::from_hms_opt(chrono::Timelike::hour(&now), chrono::Timelike::minute(&now), 0)
                .unwrap_or_default()
        }
    };
    let sd = match args.val("SD") {
        Some(v) => ctx.loc.parse_date(v).ok_or_else(|| cli_error(ctx, "Incorrect Start Date."))?,
        None => now.date(),
    };
    let ed: Option<NaiveDate> = match args.val("ED") {
        Some(v) => {
            Some(ctx.loc.parse_date(v).ok_or_else(|| cli_error(ctx, "Incorrect End Date."))?)
        } // [U]
        None => None,
    };
    if ed.is_some_and(|e| e < sd) {
        return Err(cli_error(ctx, "The end date must be later than the start date.")); // [U]
    }
    let et = match args.val("ET") {
        Some(v) => {
            Some(parse_hhmm(v, 23, 2..=2).ok_or_else(|| cli_error(ctx, "Invalid endtime value."))?)
        } // [U]
        None => None,
    };
    let du = match args.val("DU") {
        Some(v) => Some(
            parse_hhmm(v, 9999, 1..=4).ok_or_else(|| cli_error(ctx, "Invalid duration value."))?,
        ), // [U]
        None => None,
    };
    let ri = match args.val("RI") {
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=599_940).contains(&n) => Some(n),
            _ => {
                return Err(cli_error(
                    ctx,
                    "Invalid value for /RI option. Valid range is 1 - 599940 minutes.",
                ));
            } // [U]
        },
        None => None,
    };
    let delay = match args.val("DELAY") {
        Some(v) => Some(
            parse_hhmm(v, 9999, 1..=4)
                .ok_or_else(|| cli_error(ctx, "Invalid value for /DELAY option.")),
        )
        .transpose()?,
        None => None,
    };
    let run_level = match args.val("RL").map(str::to_ascii_uppercase).as_deref() {
        None | Some("LIMITED") => "LeastPrivilege",
        Some("HIGHEST") => "HighestAvailable",
        Some(_) => return Err(cli_error(ctx, "Invalid value for /RL option.")), // [U]
    };
    let mo = args.val("MO");
    let bad_mo = || cli_error(ctx, "Invalid value for /MO option."); // [U]
    let mo_num = |lo: u32, hi: u32| -> Res<u32> {
        match mo {
            None => Ok(1),
            Some(v) => v.parse::<u32>().ok().filter(|n| (lo..=hi).contains(n)).ok_or_else(bad_mo),
        }
    };

    let start_boundary = sd.and_time(st).format("%Y-%m-%dT%H:%M:%S").to_string();
    let end_boundary = ed.map(|d| d.and_time(st).format("%Y-%m-%dT%H:%M:%S").to_string());
    let stop = args.has("K");
    // Repetition duration from /DU or /ET (ET − ST, wrapping past midnight).
    let rep_duration: Option<String> = if let Some((h, m)) = du {
        Some(format!("PT{h}H{m}M"))
    } else if let Some((h, m)) = et {
        let s =
            i64::from(chrono::Timelike::hour(&st)) * 60 + i64::from(chrono::Timelike::minute(&st));
        let mut e = i64::from(h) * 60 + i64::from(m);
        if e <= s {
            e += 24 * 60;
        }
        let d = e - s;
        Some(format!("PT{}H{}M", d / 60, d % 60))
    } else {
        None
    };
    let repetition = |interval: String| {
        let mut r = format!("      <Repetition>\n        <Interval>{interval}</Interval>\n");
        if let Some(d) = &rep_duration {
            r.push_str(&format!("        <Duration>{d}</Duration>\n"));
        }
        r.push_str(&format!(
            "        <StopAtDurationEnd>{stop}</StopAtDurationEnd>\n      </Repetition>\n"
        ));
        r
    };
    let boundaries = || {
        let mut s = format!("      <StartBoundary>{start_boundary}</StartBoundary>\n");
        if let Some(e) = &end_boundary {
            s.push_str(&format!("      <EndBoundary>{e}</EndBoundary>\n"));
        }
        s
    };
    let delay_xml =
        delay.map(|(m, s)| format!("      <Delay>PT{m}M{s}S</Delay>\n")).unwrap_or_default();
    let mut idle_minutes = 10;

    let trigger = match sc {
        Sc::Minute | Sc::Hourly => {
            let (n, unit) =
                if sc == Sc::Minute { (mo_num(1, 1439)?, "M") } else { (mo_num(1, 23)?, "H") };
            format!(
                "    <TimeTrigger>\n{}{}      <Enabled>true</Enabled>\n    </TimeTrigger>\n",
                repetition(format!("PT{n}{unit}")),
                boundaries()
            )
        }
        Sc::Daily => {
            let n = mo_num(1, 365)?;
            let rep = if ri.is_some() || rep_duration.is_some() {
                repetition(format!("PT{}M", ri.unwrap_or(10)))
            } else {
                String::new()
            };
            format!(
                "    <CalendarTrigger>\n{rep}{}      <Enabled>true</Enabled>\n      <ScheduleByDay>\n        <DaysInterval>{n}</DaysInterval>\n      </ScheduleByDay>\n    </CalendarTrigger>\n",
                boundaries()
            )
        }
        Sc::Weekly => {
            let n = mo_num(1, 52)?;
            let days = match args.val("D") {
                Some(d) => parse_weekdays(d)
                    .ok_or_else(|| cli_error(ctx, "Invalid value for /D option."))?, // [U]
                None => {
                    // Today's weekday ([C1]), not Monday.
                    let mut d = [false; 7];
                    d[sd.weekday().num_days_from_sunday() as usize] = true;
                    d
                }
            };
            let rep = if ri.is_some() || rep_duration.is_some() {
                repetition(format!("PT{}M", ri.unwrap_or(10)))
            } else {
                String::new()
            };
            format!(
                "    <CalendarTrigger>\n{rep}{}      <Enabled>true</Enabled>\n      <ScheduleByWeek>\n        <WeeksInterval>{n}</WeeksInterval>\n        <DaysOfWeek>{}</DaysOfWeek>\n      </ScheduleByWeek>\n    </CalendarTrigger>\n",
                boundaries(),
                days_xml(&days)
            )
        }
        Sc::Monthly => {
            let rep = if ri.is_some() || rep_duration.is_some() {
                repetition(format!("PT{}M", ri.unwrap_or(10)))
            } else {
                String::new()
            };
            let months_arg = match args.val("M") {
                Some(m) => Some(
                    parse_months(m)
                        .ok_or_else(|| cli_error(ctx, "Invalid value for /M option."))?,
                ), // [U]
                None => None,
            };
            let mo_upper = mo.map(str::to_ascii_uppercase);
            let schedule = match mo_upper.as_deref() {
                Some(w @ ("FIRST" | "SECOND" | "THIRD" | "FOURTH" | "LAST")) => {
                    let week = match w {
                        "FIRST" => "1",
                        "SECOND" => "2",
                        "THIRD" => "3",
                        "FOURTH" => "4",
                        _ => "Last",
                    };
                    let Some(d) = args.val("D") else {
                        return Err(mandatory(tr, Verb::Create, "d"));
                    };
                    let days = parse_weekdays(d)
                        .filter(|days| days.iter().filter(|x| **x).count() == 1 && d != "*")
                        .ok_or_else(|| cli_error(ctx, "Invalid value for /D option."))?; // [U]
                    let months = months_arg.unwrap_or([true; 12]);
                    format!(
                        "      <ScheduleByMonthDayOfWeek>\n        <Weeks><Week>{week}</Week></Weeks>\n        <DaysOfWeek>{}</DaysOfWeek>\n        <Months>{}</Months>\n      </ScheduleByMonthDayOfWeek>\n",
                        days_xml(&days),
                        months_xml(&months)
                    )
                }
                Some("LASTDAY") => {
                    if args.has("D") {
                        return Err(not_applicable("D"));
                    }
                    let Some(months) = months_arg else {
                        return Err(mandatory(tr, Verb::Create, "m"));
                    };
                    format!(
                        "      <ScheduleByMonth>\n        <DaysOfMonth><Day>Last</Day></DaysOfMonth>\n        <Months>{}</Months>\n      </ScheduleByMonth>\n",
                        months_xml(&months)
                    )
                }
                _ => {
                    let n = mo_num(1, 12)?;
                    let day: u32 = match args.val("D") {
                        None => 1,
                        Some(d) => d
                            .parse::<u32>()
                            .ok()
                            .filter(|d| (1..=31).contains(d))
                            .ok_or_else(|| cli_error(ctx, "Invalid value for /D option."))?, // [U]
                    };
                    let months = match months_arg {
                        Some(m) => m,
                        None => {
                            // Every n-th month starting with the start date's month ([U]).
                            let mut m = [false; 12];
                            let first = sd.month0() as usize;
                            for k in (0..12).step_by(n as usize) {
                                m[(first + k) % 12] = true;
                            }
                            m
                        }
                    };
                    if args.has("M") && day > max_days(&months) {
                        return Err(cli_error(
                            ctx,
                            "The day specified is not valid for the month(s) specified.",
                        )); // [U]
                    }
                    format!(
                        "      <ScheduleByMonth>\n        <DaysOfMonth><Day>{day}</Day></DaysOfMonth>\n        <Months>{}</Months>\n      </ScheduleByMonth>\n",
                        months_xml(&months)
                    )
                }
            };
            format!(
                "    <CalendarTrigger>\n{rep}{}      <Enabled>true</Enabled>\n{schedule}    </CalendarTrigger>\n",
                boundaries()
            )
        }
        Sc::Once => {
            let rep = if ri.is_some() || rep_duration.is_some() {
                repetition(format!("PT{}M", ri.unwrap_or(10)))
            } else {
                String::new()
            };
            format!(
                "    <TimeTrigger>\n{rep}{}      <Enabled>true</Enabled>\n    </TimeTrigger>\n",
                boundaries()
            )
        }
        Sc::OnStart => format!(
            "    <BootTrigger>\n      <Enabled>true</Enabled>\n{delay_xml}    </BootTrigger>\n"
        ),
        Sc::OnLogon => format!(
            "    <LogonTrigger>\n      <Enabled>true</Enabled>\n{delay_xml}    </LogonTrigger>\n"
        ),
        Sc::OnIdle => {
            let Some(i) = args.val("I") else {
                return Err(mandatory(tr, Verb::Create, "i"));
            };
            idle_minutes = i
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=999).contains(n))
                .ok_or_else(|| cli_error(ctx, "Invalid value for /I option."))?; // [U]
            "    <IdleTrigger>\n      <Enabled>true</Enabled>\n    </IdleTrigger>\n".to_string()
        }
        Sc::OnEvent => {
            let Some(query) = mo else {
                return Err(mandatory(tr, Verb::Create, "mo"));
            };
            let Some(channel) = args.val("EC") else {
                return Err(mandatory(tr, Verb::Create, "ec")); // [U]
            };
            let sub = format!(
                "<QueryList><Query Id=\"0\" Path=\"{channel}\"><Select Path=\"{channel}\">{query}</Select></Query></QueryList>"
            );
            format!(
                "    <EventTrigger>\n      <Enabled>true</Enabled>\n      <Subscription>{}</Subscription>\n{delay_xml}    </EventTrigger>\n",
                esc(&sub)
            )
        }
    };

    // Principal.
    let current = format!("{}\\{}", ctx.cfg.hostname, ctx.cfg.user);
    let (user_id, logon_type, privileged_account) = match args.get("RU") {
        None => (current.clone(), Some("InteractiveToken".to_string()), false),
        Some(o) => {
            let ru = o.value.clone().unwrap_or_default();
            match well_known(&ru) {
                Some(w) => {
                    let sid = match w {
                        WellKnown::System => "S-1-5-18",
                        WellKnown::LocalService => "S-1-5-19",
                        WellKnown::NetworkService => "S-1-5-20",
                    };
                    (sid.to_string(), None, true)
                }
                None if args.has("IT") => (ru, Some("InteractiveToken".to_string()), false),
                None if args.has("NP") => (ru, Some("S4U".to_string()), false),
                None => {
                    let pw = run_as_password(ctx, args, &ru).or_else(|| {
                        Some(crate::prompt_line(
                            ctx,
                            &format!("Please enter the run as password for {ru}: "),
                        ))
                    });
                    check_password(ctx, &ru, pw.as_deref())?;
                    (ru, Some("Password".to_string()), false)
                }
            }
        }
    };
    let logon_type = if args.get("RU").is_none() && args.has("NP") {
        Some("S4U".to_string())
    } else {
        logon_type
    };
    let mut principal =
        format!("    <Principal id=\"Author\">\n      <UserId>{}</UserId>\n", esc(&user_id));
    if let Some(l) = &logon_type {
        principal.push_str(&format!("      <LogonType>{l}</LogonType>\n"));
    }
    principal.push_str(&format!("      <RunLevel>{run_level}</RunLevel>\n    </Principal>\n"));

    let (command, arguments) = split_tr(tr_value);
    let mut exec = format!("    <Exec>\n      <Command>{}</Command>\n", esc(&command));
    if let Some(a) = &arguments {
        exec.push_str(&format!("      <Arguments>{}</Arguments>\n", esc(a)));
    }
    exec.push_str("    </Exec>\n");
    let delete_expired = if args.has("Z") {
        "    <DeleteExpiredTaskAfter>PT0S</DeleteExpiredTaskAfter>\n"
    } else {
        ""
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n\
<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n\
  <RegistrationInfo>\n\
    <Date>{date}</Date>\n\
    <Author>{author}</Author>\n\
  </RegistrationInfo>\n\
  <Triggers>\n{trigger}  </Triggers>\n\
  <Principals>\n{principal}  </Principals>\n\
  <Settings>\n\
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n\
    <DisallowStartIfOnBatteries>true</DisallowStartIfOnBatteries>\n\
    <StopIfGoingOnBatteries>true</StopIfGoingOnBatteries>\n\
    <AllowHardTerminate>true</AllowHardTerminate>\n\
    <StartWhenAvailable>false</StartWhenAvailable>\n\
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>\n\
    <IdleSettings>\n\
      <Duration>PT{idle_minutes}M</Duration>\n\
      <WaitTimeout>PT1H</WaitTimeout>\n\
      <StopOnIdleEnd>true</StopOnIdleEnd>\n\
      <RestartOnIdle>false</RestartOnIdle>\n\
    </IdleSettings>\n\
    <AllowStartOnDemand>true</AllowStartOnDemand>\n\
    <Enabled>true</Enabled>\n\
    <Hidden>false</Hidden>\n\
    <RunOnlyIfIdle>false</RunOnlyIfIdle>\n\
    <WakeToRun>false</WakeToRun>\n\
    <ExecutionTimeLimit>PT72H</ExecutionTimeLimit>\n\
{delete_expired}    <Priority>7</Priority>\n\
  </Settings>\n\
  <Actions Context=\"Author\">\n{exec}  </Actions>\n\
</Task>\n",
        date = now.format("%Y-%m-%dT%H:%M:%S"),
        author = esc(&current),
    );

    let conn = ctx.connect(args, true)?;
    let store = &conn.store;
    let path = check_task_name(ctx, tn)?;
    replace_ok(ctx, store, &path, tn, args.has("F"))?;
    let mut root =
        crate::xml::parse(&xml).map_err(|e| xml_reject(ctx, crate::XmlFailure::Wf(e)))?;
    crate::schema::validate(&root).map_err(|r| xml_reject(ctx, crate::XmlFailure::Schema(r)))?;
    if ctx.cfg.mode == Mode::NonElevated
        && (privileged_account
            || run_level == "HighestAvailable"
            || matches!(sc, Sc::OnStart | Sc::OnLogon)
            || logon_type.as_deref() == Some("S4U"))
    {
        return Err(Fail::runtime(ctx.tr.access_denied(), HR_ACCESS_DENIED));
    }
    if sc == Sc::Once && sd.and_time(st) < now {
        // [U] modern schtasks warns and still creates the task.
        ctx.out.line("WARNING: Task may not run because /ST is earlier than current time.");
    }
    crate::normalize::normalize(&mut root, &path.display(), &ctx.cfg.user);
    register(ctx, store, &path, tn, &store_bytes(&root))
}
