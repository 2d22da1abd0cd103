//! `/Delete`, `/Run`, `/End`, `/Change` (§3).

use crate::cli::{Args, Verb, mandatory, syntax};
use crate::config::{Mode, RunMode};
use crate::create::{apply_run_as, split_tr};
use crate::model::{Policy, well_known};
use crate::out::{Fail, HR_ACCESS_DENIED, HR_CANCELLED, HR_TASK_DISABLED, Res};
use crate::query::load;
use crate::run::{TASK_TERMINATED, begin_instance, spawn_supervisor, supervise};
use crate::store::TaskPath;
use crate::xml::Element;
use crate::{Ctx, confirm, not_found, store_bytes, xml_reject};

fn required_tn(ctx: &Ctx, args: &Args, verb: Verb) -> Res<String> {
    args.val("TN").map(str::to_string).ok_or_else(|| mandatory(ctx.tr, verb, "tn"))
}

/// The task named by `/TN`, or the verb's not-found failure.
fn existing(ctx: &Ctx, store: &crate::store::Store, verb: Verb, tn: &str) -> Res<TaskPath> {
    match TaskPath::parse(tn) {
        Some(p) if !tn.contains('*') && store.task_exists(&p) => Ok(p),
        _ => Err(not_found(ctx, verb, tn)),
    }
}

pub(crate) fn delete(ctx: &Ctx, args: &Args) -> Res {
    let tn = required_tn(ctx, args, Verb::Delete)?;
    let conn = ctx.connect(args, true)?;
    let store = &conn.store;
    if tn == "*" {
        if !args.has("F") && !confirm(ctx, &ctx.tr.delete_prompt(&tn)) {
            return Err(Fail::silent(HR_CANCELLED));
        }
        let _lock = store.lock();
        for folder in store.list() {
            for t in folder.tasks {
                store.delete_task(&t.path);
            }
        }
        ctx.out.line(&ctx.tr.deleted(&tn));
        return Ok(());
    }
    let path = match TaskPath::parse(&tn) {
        Some(p) if !tn.contains('*') && store.task_exists(&p) => p,
        _ => {
            // A folder (or the root) is not a task: Access is denied ([X1] §6).
            let trimmed = tn.trim_matches('\\');
            let comps: Vec<String> = if trimmed.is_empty() {
                Vec::new()
            } else {
                trimmed.split('\\').map(str::to_string).collect()
            };
            if !comps.iter().any(String::is_empty)
                && store.folder_exists(&comps)
                && !tn.contains('*')
            {
                return Err(Fail::runtime(ctx.tr.access_denied(), HR_ACCESS_DENIED));
            }
            return Err(not_found(ctx, Verb::Delete, &tn));
        }
    };
    if !args.has("F") && !confirm(ctx, &ctx.tr.delete_prompt(&tn)) {
        return Err(Fail::silent(HR_CANCELLED));
    }
    {
        let _lock = store.lock();
        store.delete_task(&path);
    }
    ctx.out.line(&ctx.tr.deleted(&tn));
    Ok(())
}

pub(crate) fn end(ctx: &Ctx, args: &Args) -> Res {
    let tn = required_tn(ctx, args, Verb::End)?;
    let conn = ctx.connect(args, true)?;
    let store = &conn.store;
    let path = existing(ctx, store, Verb::End, &tn)?;
    {
        let _lock = store.lock();
        if let Some(t) = store.read_task(&path)
            && t.state.running()
        {
            let mut st = t.state;
            st.instances.clear();
            st.last_result = TASK_TERMINATED;
            store.write_state(&path, &st);
        }
    }
    ctx.out.line(&ctx.tr.terminated(&tn));
    Ok(())
}

pub(crate) fn run(ctx: &Ctx, args: &Args) -> Res {
    let tn = required_tn(ctx, args, Verb::Run)?;
    let conn = ctx.connect(args, true)?;
    let store = &conn.store;
    let path = existing(ctx, store, Verb::Run, &tn)?;
    let Some(stored) = store.read_task(&path) else {
        return Err(not_found(ctx, Verb::Run, &tn));
    };
    let l = load(stored);
    // `/I` ignores constraints, but never the Enabled flag ([X2]).
    if !l.def.settings.enabled {
        return Err(Fail::runtime(ctx.tr.disabled(&tn), HR_TASK_DISABLED));
    }
    let policy = l.def.settings.policy;
    if l.stored.state.running() && policy == Policy::IgnoreNew {
        ctx.out.line(&ctx.tr.already_running(&tn));
        ctx.out.line(&ctx.tr.run_attempted(&tn));
        return Ok(());
    }
    let now = ctx.now.format("%Y-%m-%dT%H:%M:%S").to_string();
    let id = {
        let _lock = store.lock();
        let Some(t) = store.read_task(&path) else {
            return Err(not_found(ctx, Verb::Run, &tn));
        };
        let mut st = t.state;
        if policy == Policy::StopExisting {
            st.instances.clear();
        }
        let id = match ctx.cfg.run {
            RunMode::Record => {
                st.last_run = Some(now.clone());
                st.last_result = 0;
                None
            }
            RunMode::Spawn | RunMode::SpawnWait => Some(begin_instance(&mut st, &now)),
        };
        store.write_state(&path, &st);
        id
    };
    if let Some(id) = id {
        match ctx.cfg.run {
            RunMode::Spawn => {
                if let Err(e) = spawn_supervisor(conn.host.as_deref(), &path, id) {
                    panic!("fake_schtasks: cannot start the background supervisor: {e}");
                }
                ctx.out.line(&ctx.tr.run_attempted(&tn));
            }
            _ => {
                ctx.out.line(&ctx.tr.run_attempted(&tn));
                supervise(store, &path, id, &l.def.actions, l.def.settings.exec_limit);
            }
        }
    } else {
        ctx.out.line(&ctx.tr.run_attempted(&tn));
    }
    Ok(())
}

const CHANGE_OPTS: [&str; 16] = [
    "RU", "RP", "TR", "ST", "RI", "ET", "DU", "K", "SD", "ED", "ENABLE", "DISABLE", "IT", "Z",
    "RL", "DELAY",
];

fn time_triggers(root: &mut Element) -> Vec<&mut Element> {
    match root.child_mut("Triggers") {
        Some(t) => t
            .elems_mut()
            .filter(|e| e.local == "TimeTrigger" || e.local == "CalendarTrigger")
            .collect(),
        None => Vec::new(),
    }
}

fn hhmm(s: &str, max_h: u32, digits: std::ops::RangeInclusive<usize>) -> Option<(u32, u32)> {
    let (h, m) = s.split_once(':')?;
    if !digits.contains(&h.len()) || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= max_h && m < 60).then_some((h, m))
}

pub(crate) fn change(ctx: &Ctx, args: &Args) -> Res {
    let tr = ctx.tr;
    let tn = required_tn(ctx, args, Verb::Change)?;
    if args.first_of(&CHANGE_OPTS).is_none() {
        // [U] wording; the reference only says it is a syntax error ([W1]).
        return Err(syntax(
            tr,
            Verb::Change,
            tr.error("Invalid syntax. Specify at least one of /RU, /RP, /TR, /ST, /RI, /ET, /DU, /K, /SD, /ED, /ENABLE, /DISABLE, /IT, /Z, /RL, /DELAY."),
        ));
    }
    if args.has("ENABLE") && args.has("DISABLE") {
        return Err(syntax(
            tr,
            Verb::Change,
            tr.error("Invalid syntax. /ENABLE and /DISABLE cannot be specified together."),
        )); // [U]
    }
    if args.has("ET") && args.has("DU") {
        return Err(syntax(
            tr,
            Verb::Change,
            tr.error("The /ET and /DU options are mutually exclusive."),
        )); // [U]
    }
    let cli_err = |body: &str| Fail {
        stdout: Vec::new(),
        stderr: vec![tr.error(body)],
        code: crate::out::Code::Syntax,
    };
    if let Some(v) = args.val("TR")
        && v.chars().count() > 261
    {
        return Err(cli_err("Value for '/TR' option cannot be more than 261 character(s)."));
    }
    let st = match args.val("ST") {
        Some(v) => Some(hhmm(v, 23, 2..=2).ok_or_else(|| cli_err("Invalid starttime value."))?),
        None => None,
    };
    let et = match args.val("ET") {
        Some(v) => Some(hhmm(v, 23, 2..=2).ok_or_else(|| cli_err("Invalid endtime value."))?),
        None => None,
    };
    let du = match args.val("DU") {
        Some(v) => Some(hhmm(v, 9999, 1..=4).ok_or_else(|| cli_err("Invalid duration value."))?),
        None => None,
    };
    let delay = match args.val("DELAY") {
        Some(v) => {
            Some(hhmm(v, 9999, 1..=4).ok_or_else(|| cli_err("Invalid value for /DELAY option."))?)
        }
        None => None,
    };
    let sd = match args.val("SD") {
        Some(v) => Some(ctx.loc.parse_date(v).ok_or_else(|| cli_err("Incorrect Start Date."))?),
        None => None,
    };
    let ed = match args.val("ED") {
        Some(v) => Some(ctx.loc.parse_date(v).ok_or_else(|| cli_err("Incorrect End Date."))?),
        None => None,
    };
    let ri = match args.val("RI") {
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=599_940).contains(&n) => Some(n),
            _ => {
                return Err(cli_err(
                    "Invalid value for /RI option. Valid range is 1 - 599940 minutes.",
                ));
            }
        },
        None => None,
    };
    let rl = match args.val("RL").map(str::to_ascii_uppercase).as_deref() {
        None => None,
        Some("LIMITED") => Some("LeastPrivilege"),
        Some("HIGHEST") => Some("HighestAvailable"),
        Some(_) => return Err(cli_err("Invalid value for /RL option.")),
    };

    let conn = ctx.connect(args, true)?;
    let store = &conn.store;
    let path = existing(ctx, store, Verb::Change, &tn)?;
    let Some(stored) = store.read_task(&path) else {
        return Err(not_found(ctx, Verb::Change, &tn));
    };
    let l = load(stored);
    let mut root = l.root.clone();
    let mut info: Option<String> = None;

    if args.has("ENABLE") || args.has("DISABLE") {
        let enable = args.has("ENABLE");
        if l.def.settings.enabled == enable {
            info = Some(tr.already_enabled(&tn, enable));
        }
        root.child_or_insert("Settings").child_or_insert("Enabled").set_text(if enable {
            "true"
        } else {
            "false"
        });
    }
    if let Some(v) = args.val("TR") {
        let (command, arguments) = split_tr(v);
        let actions = root.child_or_insert("Actions");
        let exec = actions.child_or_insert("Exec");
        exec.child_or_insert("Command").set_text(&command);
        match arguments {
            Some(a) => exec.child_or_insert("Arguments").set_text(&a),
            None => exec.remove_child("Arguments"),
        }
    }
    let ru_privileged = apply_run_as(ctx, args, &mut root, args.has("IT"))?;
    if args.has("IT") && !args.has("RU") {
        let p = root.child_or_insert("Principals").child_or_insert("Principal");
        p.child_or_insert("LogonType").set_text("InteractiveToken");
    }
    if let Some(level) = rl {
        let p = root.child_or_insert("Principals").child_or_insert("Principal");
        p.child_or_insert("RunLevel").set_text(level);
    }
    for trig in time_triggers(&mut root) {
        let Some(start) = trig.child_text("StartBoundary") else { continue };
        if start.len() < 19 {
            continue;
        }
        let (mut date, mut time, suffix) =
            (start[..10].to_string(), start[11..19].to_string(), start[19..].to_string());
        if let Some((h, m)) = st {
            time = format!("{h:02}:{m:02}:00");
        }
        if let Some(d) = sd {
            date = d.format("%Y-%m-%d").to_string();
        }
        if st.is_some() || sd.is_some() {
            trig.child_or_insert("StartBoundary").set_text(&format!("{date}T{time}{suffix}"));
        }
        if let Some(d) = ed {
            trig.child_or_insert("EndBoundary")
                .set_text(&format!("{}T{time}{suffix}", d.format("%Y-%m-%d")));
        }
        if let Some((h, m)) = et {
            // `/ET` sets the trigger's EndBoundary on the start date ([X17], §5 item 11).
            trig.child_or_insert("EndBoundary")
                .set_text(&format!("{date}T{h:02}:{m:02}:00{suffix}"));
        }
        if ri.is_some() || du.is_some() || args.has("K") {
            let rep = trig.child_or_insert("Repetition");
            if let Some(n) = ri {
                rep.child_or_insert("Interval").set_text(&format!("PT{n}M"));
            } else if rep.child("Interval").is_none() {
                rep.child_or_insert("Interval").set_text("PT10M"); // [U] default like /Create
            }
            if let Some((h, m)) = du {
                rep.child_or_insert("Duration").set_text(&format!("PT{h}H{m}M"));
            }
            if args.has("K") {
                rep.child_or_insert("StopAtDurationEnd").set_text("true");
            }
        }
    }
    if let Some((m, s)) = delay
        && let Some(t) = root.child_mut("Triggers")
    {
        for trig in t.elems_mut() {
            if matches!(trig.local.as_str(), "BootTrigger" | "LogonTrigger" | "EventTrigger") {
                trig.child_or_insert("Delay").set_text(&format!("PT{m}M{s}S"));
            }
        }
    }
    if args.has("Z") {
        root.child_or_insert("Settings").child_or_insert("DeleteExpiredTaskAfter").set_text("PT0S");
    }
    let privileged = ru_privileged
        || rl == Some("HighestAvailable")
        || (args.has("RU") && args.val("RU").is_some_and(|u| well_known(u).is_some()));
    if ctx.cfg.mode == Mode::NonElevated && privileged {
        return Err(Fail::runtime(tr.access_denied(), HR_ACCESS_DENIED));
    }
    // The service re-validates the changed definition, with positions in its own rendering.
    let bytes = store_bytes(&root);
    let text = crate::xml::decode(&bytes).map_err(|e| xml_reject(ctx, crate::XmlFailure::Wf(e)))?;
    let reparsed =
        crate::xml::parse(&text).map_err(|e| xml_reject(ctx, crate::XmlFailure::Wf(e)))?;
    crate::schema::validate(&reparsed)
        .map_err(|r| xml_reject(ctx, crate::XmlFailure::Schema(r)))?;
    {
        let _lock = store.lock();
        let state = match store.read_task(&path) {
            Some(t) => t.state,
            None => return Err(not_found(ctx, Verb::Change, &tn)),
        };
        store.write_task(&path, Some(&bytes), &state);
    }
    if let Some(i) = info {
        ctx.out.line(&i);
    }
    ctx.out.line(&tr.changed(&tn));
    Ok(())
}
