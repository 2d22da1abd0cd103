//! `/Query`: TABLE, LIST and CSV renderings (§2.2–§2.8) and `/XML` (§2.10).

use chrono::NaiveDate;

use crate::locale::{Locale, W};
use crate::model::{Action, Principal, Sched, TaskDef, TrigKind, Trigger, WellKnown, well_known};
use crate::nextrun::next_run;
use crate::out::Res;
use crate::store::{FolderListing, StoredTask, TaskPath, folder_display};
use crate::xml::{Element, Node};
use crate::{Ctx, not_found_for_query};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fo {
    Table,
    List,
    Csv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum XmlMode {
    Concat,
    One,
}

#[derive(Clone, Debug)]
pub(crate) struct QueryOpts {
    pub(crate) fo: Fo,
    pub(crate) verbose: bool,
    pub(crate) no_header: bool,
    pub(crate) tn: Option<String>,
    pub(crate) xml: Option<XmlMode>,
}

/// A stored task with its parsed definition.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) stored: StoredTask,
    pub(crate) root: Element,
    pub(crate) def: TaskDef,
}

/// Parses a stored definition. The store only ever holds validated definitions, so a
/// failure here means someone edited the store by hand: say so loudly.
pub(crate) fn load(stored: StoredTask) -> Loaded {
    let text = crate::xml::decode(&stored.xml).unwrap_or_else(|e| {
        panic!("fake_schtasks: stored definition of {} is unreadable: {e:?}", stored.path.display())
    });
    let root = crate::xml::parse(&text).unwrap_or_else(|e| {
        panic!("fake_schtasks: stored definition of {} is malformed: {e:?}", stored.path.display())
    });
    let def = crate::model::task_def(&root);
    Loaded { stored, root, def }
}

fn never_ran() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(1999, 11, 30).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default()
}

fn hours_minutes(loc: Locale, secs: i64) -> String {
    let total_min = secs / 60;
    let (mut h, mut m) = (total_min / 60, total_min % 60);
    if h > 9999 {
        // Seen as the rendering of very long durations ([X31]).
        h = 9999;
        m = 59;
    }
    loc.hours_minutes(h, m)
}

fn is_users_group(g: &str) -> Option<&'static str> {
    match g.to_ascii_uppercase().as_str() {
        "S-1-5-32-545" | "USERS" | "BUILTIN\\USERS" => Some("Users"),
        "S-1-5-32-544" | "ADMINISTRATORS" | "BUILTIN\\ADMINISTRATORS" => Some("Administrators"),
        "S-1-5-4" | "INTERACTIVE" | "NT AUTHORITY\\INTERACTIVE" => Some("INTERACTIVE"),
        "S-1-5-11" => Some("Authenticated Users"),
        _ => None,
    }
}

fn strip_domain(u: &str) -> String {
    u.rsplit('\\').next().unwrap_or(u).to_string()
}

pub(crate) fn run_as_user(loc: Locale, current_user: &str, p: &Principal) -> String {
    if let Some(g) = &p.group_id {
        return is_users_group(g).map(str::to_string).unwrap_or_else(|| strip_domain(g));
    }
    match &p.user_id {
        None => strip_domain(current_user),
        Some(u) => match well_known(u) {
            Some(WellKnown::System) => loc.w(W::System).to_string(),
            Some(WellKnown::LocalService) => loc.w(W::LocalService).to_string(),
            Some(WellKnown::NetworkService) => loc.w(W::NetworkService).to_string(),
            None => match is_users_group(u) {
                Some(g) => g.to_string(),
                None => strip_domain(u),
            },
        },
    }
}

fn logon_mode(p: &Principal) -> W {
    if p.user_id.as_deref().and_then(well_known).is_some() {
        return W::InteractiveBackground;
    }
    match p.logon_type.as_deref() {
        Some("Password") | Some("InteractiveTokenOrPassword") => W::InteractiveBackground,
        Some("S4U") => W::BackgroundOnly,
        // InteractiveToken, group principals and no LogonType at all ([U]).
        _ => W::InteractiveOnly,
    }
}

fn task_to_run(loc: Locale, actions: &[Action]) -> String {
    if actions.len() > 1 {
        return loc.w(W::MultipleActions).to_string();
    }
    match actions.first() {
        Some(Action::Exec { command, arguments, .. }) => {
            // "Command" + space + "Arguments": the space is always there (§2.6).
            format!("{} {}", command, arguments.as_deref().unwrap_or(""))
        }
        Some(Action::ComHandler) => loc.w(W::ComHandler).to_string(),
        Some(Action::SendEmail) => loc.w(W::SendEmail).to_string(),
        Some(Action::ShowMessage) => loc.w(W::ShowMessage).to_string(),
        None => loc.w(W::NA).to_string(),
    }
}

fn na_or(loc: Locale, v: Option<String>) -> String {
    match v {
        Some(s) if !s.is_empty() => s,
        _ => loc.w(W::NA).to_string(),
    }
}

fn days_list(loc: Locale, days: &[bool; 7]) -> String {
    let v: Vec<&str> = (0..7).filter(|&i| days[i]).map(|i| loc.day_abbrev(i)).collect();
    if v.is_empty() { loc.w(W::NA).to_string() } else { v.join(", ") }
}

fn months_list(loc: Locale, months: &[bool; 12]) -> String {
    if months.iter().all(|m| *m) {
        return loc.w(W::EveryMonth).to_string();
    }
    let v: Vec<&str> = (0..12).filter(|&i| months[i]).map(|i| loc.month_abbrev(i)).collect();
    if v.is_empty() { loc.w(W::NA).to_string() } else { v.join(", ") }
}

/// Columns 19..=28 (Schedule Type … Repeat: Stop If Still Running) of one trigger.
fn trigger_fields(loc: Locale, t: Option<&Trigger>) -> [String; 10] {
    let na = || loc.w(W::NA).to_string();
    let Some(t) = t else {
        let mut f: [String; 10] = std::array::from_fn(|_| na());
        f[0] = loc.w(W::OnDemandOnly).to_string();
        return f;
    };
    let sched_type = match &t.kind {
        TrigKind::Time => match &t.repetition {
            None => loc.w(W::OneTimeOnly),
            Some(r) if r.interval > 0 && r.interval % 3600 == 0 => loc.w(W::OneTimeOnlyHourly),
            Some(_) => loc.w(W::OneTimeOnlyMinute),
        },
        TrigKind::Calendar(Sched::Day { .. }) => loc.w(W::Daily),
        TrigKind::Calendar(Sched::Week { .. }) => loc.w(W::Weekly),
        TrigKind::Calendar(Sched::Month { .. } | Sched::MonthDow { .. }) => loc.w(W::Monthly),
        TrigKind::Boot => loc.w(W::AtStartup),
        TrigKind::Logon => loc.w(W::AtLogon),
        TrigKind::Idle => loc.w(W::AtIdle),
        TrigKind::Event => loc.w(W::OnEvent),
        TrigKind::Registration | TrigKind::SessionStateChange => loc.w(W::Undefined),
    }
    .to_string();
    let time_based = t.is_time_based();
    let (start_time, start_date, end_date) = match (time_based, t.start) {
        (true, Some(s)) => (
            loc.time(s.time()),
            loc.date(s.date()),
            t.end.map(|e| loc.date(e.date())).unwrap_or_else(na),
        ),
        _ => (na(), na(), na()),
    };
    let (days, months) = match &t.kind {
        TrigKind::Calendar(Sched::Day { interval }) => (loc.every_days(*interval), na()),
        TrigKind::Calendar(Sched::Week { interval, days }) => {
            (days_list(loc, days), loc.every_weeks(*interval))
        }
        TrigKind::Calendar(Sched::Month { days, months }) => {
            let d: Vec<String> = days.iter().map(u32::to_string).collect();
            let d = if d.is_empty() { na() } else { d.join(", ") };
            (d, months_list(loc, months))
        }
        // [U] the week numbers are not rendered.
        TrigKind::Calendar(Sched::MonthDow { days, months, .. }) => {
            (days_list(loc, days), months_list(loc, months))
        }
        _ => (na(), na()),
    };
    let repeat: [String; 4] = match &t.repetition {
        Some(r) => [
            hours_minutes(loc, r.interval),
            loc.w(W::NoneWord).to_string(),
            r.duration
                .map(|d| hours_minutes(loc, d))
                .unwrap_or_else(|| loc.w(W::Disabled).to_string()),
            // [U] `Enabled` for StopAtDurationEnd=true (only `Disabled` was captured).
            loc.w(if r.stop_at_end { W::Enabled } else { W::Disabled }).to_string(),
        ],
        None if time_based => std::array::from_fn(|_| loc.w(W::Disabled).to_string()),
        None => std::array::from_fn(|_| na()),
    };
    let [r0, r1, r2, r3] = repeat;
    [sched_type, start_time, start_date, end_date, days, months, r0, r1, r2, r3]
}

/// The 28 verbose values of every row of a task (one row per trigger, §2.7).
pub(crate) fn rows(ctx: &Ctx, host: &str, l: &Loaded) -> Vec<[String; 28]> {
    let loc = ctx.loc;
    let def = &l.def;
    let st = &l.stored.state;
    let s = &def.settings;
    let status = if !s.enabled {
        W::Disabled
    } else if st.running() {
        W::Running
    } else {
        W::Ready
    };
    let last_run = st
        .last_run
        .as_deref()
        .and_then(|v| chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S").ok())
        .unwrap_or_else(never_ran);
    let next =
        next_run(def, ctx.now).map(|n| loc.datetime(n)).unwrap_or_else(|| loc.w(W::NA).to_string());
    let power = match (s.stop_on_batteries, s.disallow_start_on_batteries) {
        (true, true) => loc.w(W::PowerBoth),
        (true, false) => loc.w(W::PowerStop),
        (false, true) => loc.w(W::PowerNoStart),
        (false, false) => "",
    };
    let idle = if s.run_only_if_idle {
        loc.idle(s.idle_duration / 60, s.idle_wait / 60)
    } else {
        loc.w(W::Disabled).to_string()
    };
    let stop_after = match s.exec_limit {
        None => loc.w(W::Disabled).to_string(),
        Some(n) => format!("{:02}:{:02}:{:02}", n / 3600, (n % 3600) / 60, n % 60),
    };
    let workdir = def.actions.iter().find_map(|a| match a {
        Action::Exec { workdir, .. } => workdir.clone(),
        _ => None,
    });
    let common: [String; 18] = [
        host.to_string(),
        l.stored.path.display(),
        next,
        loc.w(status).to_string(),
        loc.w(logon_mode(&def.principal)).to_string(),
        loc.datetime(last_run),
        st.last_result.to_string(),
        na_or(loc, def.author.clone()),
        task_to_run(loc, &def.actions),
        na_or(loc, workdir),
        na_or(loc, def.description.clone()),
        loc.w(if s.enabled { W::Enabled } else { W::Disabled }).to_string(),
        idle,
        power.to_string(),
        run_as_user(loc, &ctx.cfg.user, &def.principal),
        loc.w(if s.delete_expired { W::Enabled } else { W::Disabled }).to_string(),
        stop_after,
        loc.w(W::SchedulingNotAvailable).to_string(),
    ];
    let trigger_rows: Vec<[String; 10]> = if def.triggers.is_empty() {
        vec![trigger_fields(loc, None)]
    } else {
        def.triggers.iter().map(|t| trigger_fields(loc, Some(t))).collect()
    };
    trigger_rows
        .into_iter()
        .map(|tf| {
            let mut row: [String; 28] = std::array::from_fn(|_| String::new());
            for (i, v) in common.iter().enumerate() {
                row[i] = v.clone();
            }
            for (i, v) in tf.into_iter().enumerate() {
                row[18 + i] = v;
            }
            row
        })
        .collect()
}

/// Truncates to `w` characters and pads with spaces to `w`.
fn fit(s: &str, w: usize) -> String {
    let mut t: String = s.chars().take(w).collect();
    let n = t.chars().count();
    t.push_str(&" ".repeat(w - n));
    t
}

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w { s.to_string() } else { format!("{s}{}", " ".repeat(w - n)) }
}

/// One folder's tasks, already loaded.
struct Block {
    folder: String,
    tasks: Vec<Loaded>,
}

fn render_text(ctx: &Ctx, host: &str, blocks: &[Block], o: &QueryOpts) -> Vec<String> {
    let loc = ctx.loc;
    let fields = loc.fields();
    let cols: Vec<usize> = match (o.verbose, o.fo) {
        (true, _) => (0..28).collect(),
        (false, Fo::List) => vec![0, 1, 2, 3, 4],
        (false, _) => vec![1, 2, 3],
    };
    let mut lines = vec![String::new()];
    let mut first_block = true;
    for b in blocks {
        let all_rows: Vec<[String; 28]> = b.tasks.iter().flat_map(|l| rows(ctx, host, l)).collect();
        match o.fo {
            Fo::Csv => {
                if !o.no_header {
                    let h: Vec<String> =
                        cols.iter().map(|&i| format!("\"{}\"", fields[i])).collect();
                    lines.push(h.join(","));
                }
                for r in &all_rows {
                    // Embedded quotes are not escaped (§2.5).
                    let v: Vec<String> = cols.iter().map(|&i| format!("\"{}\"", r[i])).collect();
                    lines.push(v.join(","));
                }
            }
            Fo::Table | Fo::List => {
                if !first_block {
                    lines.push(String::new());
                }
                first_block = false;
                lines.push(format!("{}: {}", loc.w(W::Folder), b.folder));
                if all_rows.is_empty() {
                    lines.push(ctx.tr.no_tasks());
                    continue;
                }
                if o.fo == Fo::List {
                    let width =
                        cols.iter().map(|&i| fields[i].chars().count() + 1).max().unwrap_or(0) + 1;
                    for (n, r) in all_rows.iter().enumerate() {
                        if n > 0 {
                            lines.push(String::new());
                        }
                        for &i in &cols {
                            lines.push(format!(
                                "{}{}",
                                pad(&format!("{}:", fields[i]), width),
                                r[i]
                            ));
                        }
                    }
                } else if !o.verbose {
                    let widths = [40, 22, 15];
                    let leaf =
                        |r: &[String; 28]| r[1].rsplit('\\').next().unwrap_or("").to_string();
                    if !o.no_header {
                        lines.push(format!(
                            "{} {} {}",
                            fit(fields[1], 40),
                            fit(fields[2], 22),
                            fit(fields[3], 15)
                        ));
                        lines.push(
                            widths.iter().map(|w| "=".repeat(*w)).collect::<Vec<_>>().join(" "),
                        );
                    }
                    for r in &all_rows {
                        lines.push(format!(
                            "{} {} {}",
                            fit(&leaf(r), 40),
                            fit(&r[2], 22),
                            fit(&r[3], 15)
                        ));
                    }
                } else {
                    // [U] TABLE /V: every column as wide as its widest cell.
                    let widths: Vec<usize> = cols
                        .iter()
                        .map(|&i| {
                            all_rows
                                .iter()
                                .map(|r| r[i].chars().count())
                                .chain(std::iter::once(fields[i].chars().count()))
                                .max()
                                .unwrap_or(0)
                        })
                        .collect();
                    if !o.no_header {
                        let h: Vec<String> =
                            cols.iter().zip(&widths).map(|(&i, &w)| fit(fields[i], w)).collect();
                        lines.push(h.join(" "));
                        lines.push(
                            widths.iter().map(|w| "=".repeat(*w)).collect::<Vec<_>>().join(" "),
                        );
                    }
                    for r in &all_rows {
                        let v: Vec<String> =
                            cols.iter().zip(&widths).map(|(&i, &w)| fit(&r[i], w)).collect();
                        lines.push(v.join(" "));
                    }
                }
            }
        }
    }
    lines
}

/// The exported document: the stored definition with `RegistrationInfo/URI` set to the
/// task path (as Windows does on export).
pub(crate) fn export_root(l: &Loaded) -> Element {
    let mut root = l.root.clone();
    if root.child("RegistrationInfo").is_none() {
        root.children.insert(0, Node::Elem(Element::new("RegistrationInfo")));
    }
    if let Some(reg) = root.child_mut("RegistrationInfo") {
        reg.child_or_insert("URI").set_text(&l.stored.path.display());
    }
    root
}

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>";

fn render_xml(tasks: &[&Loaded], mode: XmlMode) -> String {
    let mut s = String::new();
    match mode {
        XmlMode::Concat => {
            for l in tasks {
                s.push_str(XML_DECL);
                s.push('\n');
                s.push_str(&crate::xml::serialize(&export_root(l), 0));
            }
        }
        XmlMode::One => {
            s.push_str(XML_DECL);
            s.push('\n');
            s.push_str("<Tasks>\n");
            for l in tasks {
                s.push_str(&format!("  <!-- {} -->\n", l.stored.path.display()));
                s.push_str(&crate::xml::serialize(&export_root(l), 2));
            }
            s.push_str("</Tasks>\n");
        }
    }
    s
}

/// `/Query`. `listing` is the whole store (or what `/TN` selected).
pub(crate) fn query(ctx: &Ctx, host: &str, store: &crate::store::Store, o: &QueryOpts) -> Res {
    let blocks: Vec<Block> = match &o.tn {
        Some(tn) => {
            let path = match TaskPath::parse(tn) {
                Some(p) if !tn.contains('*') && store.task_exists(&p) => p,
                _ => return Err(not_found_for_query(ctx, tn)),
            };
            let Some(stored) = store.read_task(&path) else {
                return Err(not_found_for_query(ctx, tn));
            };
            let folder = folder_display(stored.path.folder());
            vec![Block { folder, tasks: vec![load(stored)] }]
        }
        None => store
            .list()
            .into_iter()
            .map(|FolderListing { comps, tasks }| Block {
                folder: folder_display(&comps),
                tasks: tasks.into_iter().map(load).collect(),
            })
            .collect(),
    };
    if let Some(mode) = o.xml {
        let all: Vec<&Loaded> = blocks.iter().flat_map(|b| b.tasks.iter()).collect();
        ctx.out.print(&render_xml(&all, mode));
        return Ok(());
    }
    for line in render_text(ctx, host, &blocks, o) {
        ctx.out.line(&line);
    }
    Ok(())
}
