//! Self-test of the fake `schtasks.exe` (tests/helpers/fake_schtasks): runs the built
//! example against temporary stores and checks its output byte for byte where the
//! reference (/work/shared/reference/schtasks.md) gives exact text, reproducing the
//! reference's captured samples where it has them.

#[path = "helpers/fake_schtasks/support.rs"]
mod fake_support;

use fake_support::{E_FAIL_EXIT, Fake, Run};

const NS: &str = "http://schemas.microsoft.com/windows/2004/02/mit/task";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A task document in the shape of the reference's base document (§4.5).
#[derive(Clone)]
struct Doc {
    version: String,
    ns: String,
    reg: String,
    triggers: String,
    principal: String,
    settings: String,
    actions: String,
    context: String,
}

impl Doc {
    fn new() -> Doc {
        Doc {
            version: "1.2".into(),
            ns: NS.into(),
            reg: "    <Author>orc</Author>\n    <Description>orc job x sha256=0123abcd &amp; more</Description>\n".into(),
            triggers: "    <CalendarTrigger>\n      <StartBoundary>2025-01-01T00:00:00</StartBoundary>\n      <Repetition>\n        <Interval>PT30M</Interval>\n        <Duration>PT23H30M</Duration>\n        <StopAtDurationEnd>false</StopAtDurationEnd>\n      </Repetition>\n      <ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>\n    </CalendarTrigger>\n".into(),
            principal: "    <Principal id=\"Author\">\n      <LogonType>InteractiveToken</LogonType>\n      <RunLevel>LeastPrivilege</RunLevel>\n    </Principal>\n".into(),
            settings: "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n    <StartWhenAvailable>true</StartWhenAvailable>\n    <ExecutionTimeLimit>PT72H</ExecutionTimeLimit>\n    <Enabled>true</Enabled>\n".into(),
            actions: "    <Exec>\n      <Command>C:\\Tools\\orc.exe</Command>\n      <Arguments>run job-x</Arguments>\n      <WorkingDirectory>C:\\Tools</WorkingDirectory>\n    </Exec>\n".into(),
            context: "Author".into(),
        }
    }

    fn render(&self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Task version=\"{}\" xmlns=\"{}\">\n  <RegistrationInfo>\n{}  </RegistrationInfo>\n  <Triggers>\n{}  </Triggers>\n  <Principals>\n{}  </Principals>\n  <Settings>\n{}  </Settings>\n  <Actions Context=\"{}\">\n{}  </Actions>\n</Task>\n",
            self.version,
            self.ns,
            self.reg,
            self.triggers,
            self.principal,
            self.settings,
            self.context,
            self.actions
        )
    }
}

/// `(line,col)` the way the fake reports a node: 1-based line of `needle` in `doc` and
/// the column of the needle character at `name_offset`, plus one (see schema.rs).
fn reported(doc: &str, needle: &str, name_offset: usize) -> String {
    let at = doc.find(needle).unwrap_or_else(|| panic!("{needle:?} not in document"));
    let before = &doc[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1 + name_offset;
    format!("({},{})", line, col + 1)
}

fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}

/// Creates `doc` as `tn` (with /F) and returns the run.
fn create(f: &Fake, tn: &str, doc: &str) -> Run {
    let p = f.xml_file("task.xml", doc);
    f.run(&["/Create", "/TN", tn, "/XML", p.to_str().unwrap(), "/F"])
}

/// Asserts that `doc` is rejected with exactly `first` + `second` on stderr, exit 1, and
/// that nothing was registered.
#[track_caller]
fn assert_rejected(doc: &str, first: &str, second: &str) {
    let f = Fake::new();
    let r = create(&f, "\\Orchestrator\\Orc_bad", doc);
    assert_eq!(r.stderr, format!("ERROR: {first}\r\n{second}\r\n"), "document:\n{doc}");
    assert_eq!(r.stdout, "");
    assert_eq!(r.code, 1);
    let q = f.run(&["/Query", "/TN", "\\Orchestrator\\Orc_bad"]);
    assert_eq!(q.code, 1);
}

const UNEXPECTED: &str = "The task XML contains an unexpected node.";
const INVALID: &str =
    "The task XML contains a value which is incorrectly formatted or out of range.";
const MISSING: &str = "The task XML is missing a required element or attribute.";
const MALFORMED: &str = "The task XML is malformed.";
const TOO_MANY: &str = "The task XML contains too many nodes of the same type.";
const NAMESPACE: &str =
    "The task XML contains an element or attribute from an unexpected namespace.";
const NO_TASKS: &str =
    "INFO: There are no scheduled tasks presently available at your access level.";
const FILE_NOT_FOUND: &str = "ERROR: The system cannot find the file specified.\r\n";

/// LIST: replaces the values of the date/time fields (locale-dependent) by `<DT>`.
fn normalise_list(text: &str) -> String {
    const DT: [&str; 5] =
        ["Next Run Time:", "Last Run Time:", "Start Time:", "Start Date:", "End Date:"];
    text.lines()
        .map(|l| {
            let l = l.trim_end();
            match DT.iter().find(|p| l.starts_with(*p)) {
                Some(_) if !l.ends_with("N/A") => format!("{}<DT>", &l[..38.min(l.len())]),
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// CSV: same for columns Next Run Time, Last Run Time, Start Time, Start Date, End Date.
fn normalise_csv_line(line: &str) -> String {
    let inner = line.trim_end().trim_start_matches('"').trim_end_matches('"');
    let mut fields: Vec<String> = inner.split("\",\"").map(str::to_string).collect();
    if fields.len() == 28 {
        for i in [2, 5, 19, 20, 21] {
            if fields[i] != "N/A" {
                fields[i] = "<DT>".into();
            }
        }
    }
    format!("\"{}\"", fields.join("\",\""))
}

// ---------------------------------------------------------------------------------------
// Arguments and help
// ---------------------------------------------------------------------------------------

#[test]
fn help_goes_to_stdout_with_exit_0() {
    let f = Fake::new();
    let r = f.run(&["/?"]);
    assert!(r.ok().starts_with("\r\nSCHTASKS /parameter [arguments]\r\n"), "{r:?}");
    assert_eq!(r.stderr, "");
    let r = f.run(&["/create", "/?"]);
    // First lines of `schtasks /create /?` as captured (§1.1).
    assert!(r.ok().contains(&crlf(
        "SCHTASKS /Create [/S system [/U username [/P [password]]]]\n    [/RU username [/RP password]] /SC schedule [/MO modifier] [/D day]\n    [/M months] [/I idletime] /TN taskname /TR taskrun [/ST starttime]\n    [/RI interval] [ {/ET endtime | /DU duration} [/K] [/XML xmlfile] [/V1]]\n    [/SD startdate] [/ED enddate] [/IT | /NP] [/Z] [/F] [/HRESULT] [/?]\n"
    )));
    assert!(r.stdout.contains("    MINUTE:  1 - 1439 minutes.\r\n"));
    for verb in ["/Query", "/DELETE", "/run", "/End", "/Change"] {
        let r = f.run(&[verb, "/?"]);
        assert!(r.ok().contains("SCHTASKS /"), "{verb}: {r:?}");
        assert_eq!(r.stderr, "");
    }
}

#[test]
fn no_verb_means_query_and_an_empty_store_says_info() {
    let f = Fake::new();
    let r = f.run(&[]);
    assert_eq!(r.ok(), format!("\r\nFolder: \\\r\n{NO_TASKS}\r\n"));
    assert_eq!(f.run(&["/QUERY"]).stdout, r.stdout);
}

#[test]
fn syntax_errors_use_e_fail_and_the_usage_line() {
    let f = Fake::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["/query", "Administration"],
            "ERROR: Invalid argument/option - 'Administration'.\r\nType \"SCHTASKS /QUERY /?\" for usage.\r\n",
        ),
        (
            &["/Delete", "/TN", "x", "/RU", "y"],
            "ERROR: Invalid argument/option - '/RU'.\r\nType \"SCHTASKS /DELETE /?\" for usage.\r\n",
        ),
        (
            &["/Create", "/TN", "x", "/TR", "y", "/sc", "DAILY", "/sc", "DAILY"],
            "ERROR: Invalid syntax. '/sc' option is not allowed more than '1' time(s).\r\nType \"SCHTASKS /CREATE /?\" for usage.\r\n",
        ),
        (
            &["/Create", "/TN", "x", "/TR", "y", "/SC", "FORTNIGHTLY"],
            "ERROR: Invalid Schedule Type specified.\r\nType \"SCHTASKS /CREATE /?\" for usage.\r\n",
        ),
        (
            &["/Create", "/TR", "y", "/SC", "DAILY"],
            "ERROR: Invalid syntax. Mandatory option '/tn' is missing.\r\nType \"SCHTASKS /CREATE /?\" for usage.\r\n",
        ),
        (
            &["/Create", "/TN", "x"],
            "ERROR: Invalid syntax. Mandatory option '/sc' is missing.\r\nType \"SCHTASKS /CREATE /?\" for usage.\r\n",
        ),
        (
            &["/Run"],
            "ERROR: Invalid syntax. Mandatory option '/tn' is missing.\r\nType \"SCHTASKS /RUN /?\" for usage.\r\n",
        ),
        (
            &["/Query", "/TN"],
            "ERROR: Invalid syntax. Value expected for '/TN'.\r\nType \"SCHTASKS /QUERY /?\" for usage.\r\n",
        ),
        // The real Server 2019 text, two spaces before "are" included ([I13]).
        (
            &["/create", "/tn", "x", "/tr", "y", "/sc", "onstart", "/sd", "03/15/2001"],
            "ERROR: The options /RI, /DU, /ST, /SD, /ET, /ED and /K  are not applicable for the scheduled types: ONSTART, ONLOGON, ONIDLE, ONEVENT.\r\nType \"SCHTASKS /CREATE /?\" for usage.\r\n",
        ),
        (
            &["/Query", "/U", "admin"],
            "ERROR: Invalid syntax. /U can be specified only when /S is specified.\r\nType \"SCHTASKS /QUERY /?\" for usage.\r\n",
        ),
        (
            &["/Change", "/TN", "x"],
            "ERROR: Invalid syntax. Specify at least one of /RU, /RP, /TR, /ST, /RI, /ET, /DU, /K, /SD, /ED, /ENABLE, /DISABLE, /IT, /Z, /RL, /DELAY.\r\nType \"SCHTASKS /CHANGE /?\" for usage.\r\n",
        ),
    ];
    for (args, stderr) in cases {
        let r = f.run(args);
        assert_eq!(r.stderr, *stderr, "{args:?}");
        assert_eq!(r.stdout, "", "{args:?}");
        assert_eq!(r.code, E_FAIL_EXIT, "{args:?}");
    }
}

#[test]
fn switches_are_case_insensitive_in_any_order_and_accept_dashes() {
    let f = Fake::new();
    let doc = Doc::new().render();
    let p = f.xml_file("t.xml", &doc);
    let p = p.to_str().unwrap();
    let r = f.run(&["/f", "/xml", p, "/tn", "Orc_a", "/CREATE"]);
    assert_eq!(r.ok(), "SUCCESS: The scheduled task \"Orc_a\" has successfully been created.\r\n");
    let r = f.run(&["-query", "-tn", "orc_A", "-fo", "csv", "-nh"]);
    assert!(r.ok().contains("\"\\Orc_a\""), "{r:?}");
}

#[test]
fn tr_longer_than_261_characters_is_refused() {
    let f = Fake::new();
    let long = "x".repeat(262);
    let r = f.run(&["/Create", "/TN", "t", "/TR", &long, "/SC", "DAILY", "/ST", "10:00"]);
    assert_eq!(r.stderr, "ERROR: Value for '/TR' option cannot be more than 261 character(s).\r\n");
    assert_eq!(r.code, E_FAIL_EXIT);
    let ok = "x".repeat(261);
    let r = f.run(&["/Create", "/TN", "t", "/TR", &ok, "/SC", "DAILY", "/ST", "10:00"]);
    assert_eq!(r.ok(), "SUCCESS: The scheduled task \"t\" has successfully been created.\r\n");
}

#[test]
fn start_time_and_start_date_are_validated() {
    let f = Fake::new();
    let r = f.run(&["/Create", "/TN", "t", "/TR", "x", "/SC", "DAILY", "/ST", "3:0"]);
    assert_eq!(r.stderr, "ERROR: Invalid starttime value.\r\n");
    assert_eq!(r.code, E_FAIL_EXIT);
    // Day-first date on an en-US machine ([X24]).
    let r = f.run(&[
        "/Create",
        "/TN",
        "t",
        "/TR",
        "x",
        "/SC",
        "DAILY",
        "/ST",
        "03:00",
        "/SD",
        "25/12/2025",
    ]);
    assert_eq!(r.stderr, "ERROR: Incorrect Start Date.\r\n");
    // ...which is the right order on fr-FR.
    let fr = Fake::new().env("FAKE_SCHTASKS_LOCALE", "fr-FR");
    let r = fr.run(&[
        "/Create",
        "/TN",
        "t",
        "/TR",
        "x",
        "/SC",
        "DAILY",
        "/ST",
        "03:00",
        "/SD",
        "25/12/2025",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
}

// ---------------------------------------------------------------------------------------
// /Create /XML
// ---------------------------------------------------------------------------------------

#[test]
fn create_from_utf16le_bom_stores_what_windows_stores() {
    let f = Fake::new();
    let doc = Doc::new().render();
    let p = f.xml_file("t.xml", &doc);
    let r = f.run(&["/Create", "/TN", "\\Orchestrator\\Orc_x", "/XML", p.to_str().unwrap(), "/F"]);
    assert_eq!(
        r.stdout,
        "SUCCESS: The scheduled task \"\\Orchestrator\\Orc_x\" has successfully been created.\r\n"
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    // Windows keeps its normalized definition (§4.3): its element order, every default
    // written out, the task's URI, the registering account; UTF-16LE with BOM and CRLF.
    let stored = std::fs::read(f.root().join("local/tasks/orchestrator/orc_x.xml")).unwrap();
    assert_ne!(stored, std::fs::read(&p).unwrap());
    assert_eq!(&stored[..2], &[0xFF, 0xFE]);
    let units: Vec<u16> =
        stored[2..].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let text = String::from_utf16(&units).unwrap();
    let want = [
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
        "<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">",
        "  <RegistrationInfo>",
        "    <Author>orc</Author>",
        "    <Description>orc job x sha256=0123abcd &amp; more</Description>",
        "    <URI>\\Orchestrator\\Orc_x</URI>",
        "  </RegistrationInfo>",
        "  <Principals>",
        "    <Principal id=\"Author\">",
        "      <UserId>tester</UserId>",
        "      <LogonType>InteractiveToken</LogonType>",
        "      <RunLevel>LeastPrivilege</RunLevel>",
        "    </Principal>",
        "  </Principals>",
        "  <Settings>",
        "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>",
        "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>",
        "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>",
        "    <AllowHardTerminate>true</AllowHardTerminate>",
        "    <StartWhenAvailable>true</StartWhenAvailable>",
        "    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>",
        "    <IdleSettings>",
        "      <Duration>PT10M</Duration>",
        "      <WaitTimeout>PT1H</WaitTimeout>",
        "      <StopOnIdleEnd>true</StopOnIdleEnd>",
        "      <RestartOnIdle>false</RestartOnIdle>",
        "    </IdleSettings>",
        "    <AllowStartOnDemand>true</AllowStartOnDemand>",
        "    <Enabled>true</Enabled>",
        "    <Hidden>false</Hidden>",
        "    <RunOnlyIfIdle>false</RunOnlyIfIdle>",
        "    <WakeToRun>false</WakeToRun>",
        "    <ExecutionTimeLimit>PT72H</ExecutionTimeLimit>",
        "    <Priority>7</Priority>",
        "  </Settings>",
        "  <Triggers>",
        "    <CalendarTrigger>",
        "      <Repetition>",
        "        <Interval>PT30M</Interval>",
        "        <Duration>PT23H30M</Duration>",
        "        <StopAtDurationEnd>false</StopAtDurationEnd>",
        "      </Repetition>",
        "      <StartBoundary>2025-01-01T00:00:00</StartBoundary>",
        "      <Enabled>true</Enabled>",
        "      <ScheduleByDay>",
        "        <DaysInterval>1</DaysInterval>",
        "      </ScheduleByDay>",
        "    </CalendarTrigger>",
        "  </Triggers>",
        "  <Actions Context=\"Author\">",
        "    <Exec>",
        "      <Command>C:\\Tools\\orc.exe</Command>",
        "      <Arguments>run job-x</Arguments>",
        "      <WorkingDirectory>C:\\Tools</WorkingDirectory>",
        "    </Exec>",
        "  </Actions>",
        "</Task>",
        "",
    ];
    assert_eq!(text, want.join("\r\n"));
    // The TN is echoed as typed, and folders are optional in /TN.
    let r = f.run(&["/Create", "/TN", "Orchestrator\\Orc_y", "/XML", p.to_str().unwrap()]);
    assert_eq!(
        r.ok(),
        "SUCCESS: The scheduled task \"Orchestrator\\Orc_y\" has successfully been created.\r\n"
    );
}

#[test]
fn existing_task_without_f_prompts_on_stdout() {
    let f = Fake::new();
    let doc = Doc::new().render();
    assert_eq!(create(&f, "Orc_x", &doc).code, 0);
    let p = f.xml_file("t.xml", &doc);
    let args = ["/Create", "/TN", "Orc_x", "/XML", p.to_str().unwrap()];
    let prompt =
        "WARNING: The task name \"Orc_x\" already exists. Do you want to replace it (Y/N)? ";
    let r = f.run(&args);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (1, format!("{prompt}\r\n").as_str(), "")
    );
    let r = f.run_stdin(&args, Some("N\r\n"));
    assert_eq!(r.code, 1);
    let r = f.run_stdin(&args, Some("Y\r\n"));
    assert_eq!(
        r.ok(),
        format!(
            "{prompt}\r\nSUCCESS: The scheduled task \"Orc_x\" has successfully been created.\r\n"
        )
    );
}

#[test]
fn bomless_ascii_is_accepted_with_or_without_a_consistent_declaration() {
    let f = Fake::new();
    let doc = Doc::new().render();
    let without = doc.replacen(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n",
        "<?xml version=\"1.0\"?>\n",
        1,
    );
    let p = f.raw_file("a.xml", without.as_bytes());
    f.run(&["/Create", "/TN", "a", "/XML", p.to_str().unwrap()]).ok();
    let utf8 = doc.replacen("encoding=\"UTF-16\"", "encoding=\"UTF-8\"", 1);
    let p = f.raw_file("b.xml", utf8.as_bytes());
    f.run(&["/Create", "/TN", "b", "/XML", p.to_str().unwrap()]).ok();
    let bare = doc.replacen("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n", "", 1);
    let p = f.raw_file("c.xml", bare.as_bytes());
    f.run(&["/Create", "/TN", "c", "/XML", p.to_str().unwrap()]).ok();
}

#[test]
fn encoding_mismatches_and_utf8_bom_are_rejected() {
    let f = Fake::new();
    let doc = Doc::new().render();
    // ANSI bytes declaring UTF-16 ([I1] #8): column 40 is just after the declaration.
    let p = f.raw_file("a.xml", doc.as_bytes());
    let r = f.run(&["/Create", "/TN", "a", "/XML", p.to_str().unwrap()]);
    assert_eq!(
        r.stderr,
        format!("ERROR: {MALFORMED}\r\n(1,40)::ERROR: unable to switch the encoding\r\n")
    );
    assert_eq!(r.code, 1);
    // UTF-8 with BOM ([I1] #5).
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(doc.as_bytes());
    let p = f.raw_file("b.xml", &bytes);
    let r = f.run(&["/Create", "/TN", "b", "/XML", p.to_str().unwrap()]);
    assert_eq!(
        r.stderr,
        format!("ERROR: {MALFORMED}\r\n(1,2)::ERROR: incorrect document syntax\r\n")
    );
    assert_eq!(r.code, 1);
    // UTF-16 big endian.
    let mut be = vec![0xFE, 0xFF];
    for u in doc.encode_utf16() {
        be.extend_from_slice(&u.to_be_bytes());
    }
    let p = f.raw_file("c.xml", &be);
    let r = f.run(&["/Create", "/TN", "c", "/XML", p.to_str().unwrap()]);
    assert!(r.stderr.starts_with(&format!("ERROR: {MALFORMED}\r\n")), "{r:?}");
    assert_eq!(r.code, 1);
    // UTF-16 bytes declaring UTF-8 ([I3]): column 39.
    let p = f.xml_file("d.xml", &doc.replacen("UTF-16", "UTF-8", 1));
    let r = f.run(&["/Create", "/TN", "d", "/XML", p.to_str().unwrap()]);
    assert_eq!(
        r.stderr,
        format!(
            "ERROR: {MALFORMED}\r\n(1,39)::ERROR: switch from current encoding to specified encoding not supported\r\n"
        )
    );
    // Nothing was registered.
    assert_eq!(f.run(&[]).stdout, format!("\r\nFolder: \\\r\n{NO_TASKS}\r\n"));
}

#[test]
fn missing_xml_file_is_file_not_found() {
    let f = Fake::new();
    let r = f.run(&["/Create", "/TN", "a", "/XML", "no-such-file.xml"]);
    assert_eq!((r.code, r.stderr.as_str()), (1, FILE_NOT_FOUND));
}

#[test]
fn malformed_xml_reports_the_parser_position() {
    let mut d = Doc::new();
    d.reg = "    <!-- run with --apply -->\n    <Author>orc</Author>\n".into();
    let f = Fake::new();
    let r = create(&f, "x", &d.render());
    assert!(r.stderr.starts_with(&format!("ERROR: {MALFORMED}\r\n(4,")), "{r:?}");
    assert!(r.stderr.ends_with("::ERROR: incorrect comment syntax\r\n"), "{r:?}");
    let mut d = Doc::new();
    d.reg = "    <Author>orc</Authr>\n".into();
    let r = create(&f, "x", &d.render());
    assert!(r.stderr.starts_with(&format!("ERROR: {MALFORMED}\r\n(4,")), "{r:?}");
    assert_eq!(r.code, 1);
}

#[test]
fn forty_nine_triggers_are_too_many_forty_eight_are_fine() {
    let trig = |h: u32| {
        format!(
            "    <CalendarTrigger><StartBoundary>2025-01-01T{:02}:{:02}:00</StartBoundary><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>\n",
            h / 2,
            (h % 2) * 30
        )
    };
    let mut d = Doc::new();
    d.triggers = (0..48).map(trig).collect();
    let f = Fake::new();
    assert_eq!(create(&f, "t48", &d.render()).code, 0);
    let rows = f.run(&["/Query", "/TN", "t48", "/FO", "CSV", "/NH"]);
    assert_eq!(rows.ok().lines().filter(|l| l.starts_with('"')).count(), 48);

    d.triggers.push_str(
        "    <TimeTrigger><StartBoundary>2025-01-01T23:59:00</StartBoundary></TimeTrigger>\n",
    );
    let doc = d.render();
    assert_rejected(
        &doc,
        TOO_MANY,
        &format!("{}:TimeTrigger:", reported(&doc, "<TimeTrigger>", 1)),
    );
}

#[test]
fn repetition_interval_must_be_between_one_minute_and_31_days() {
    let base = Doc::new();
    for bad in ["PT30S", "PT5S", "P32D", "30M", "P30X", "PT"] {
        let mut d = base.clone();
        d.triggers = d
            .triggers
            .replace("<Interval>PT30M</Interval>", &format!("<Interval>{bad}</Interval>"));
        let doc = d.render();
        assert_rejected(
            &doc,
            INVALID,
            &format!("{}:Interval:{bad}", reported(&doc, "</Interval>", 2)),
        );
    }
    // P30M is 30 *months*: well formed, but more than 31 days.
    let mut d = base.clone();
    d.triggers = d.triggers.replace("<Interval>PT30M</Interval>", "<Interval>P30M</Interval>");
    let doc = d.render();
    assert_rejected(&doc, INVALID, &format!("{}:Interval:P30M", reported(&doc, "</Interval>", 2)));
    // The bounds themselves are fine.
    for good in ["PT1M", "P31D", "PT60S", "P1DT0H"] {
        let mut d = base.clone();
        d.triggers = d
            .triggers
            .replace("<Interval>PT30M</Interval>", &format!("<Interval>{good}</Interval>"));
        assert_eq!(create(&Fake::new(), "t", &d.render()).code, 0, "{good}");
    }
}

#[test]
fn reproduces_the_interval_position_of_sample_x18() {
    // [X18]: `(29,24):Interval:PT5S` – a value error points one past the start of the
    // end-tag name; with six spaces of indentation that is column 24.
    let mut lines: Vec<String> = Doc::new().render().lines().map(str::to_string).collect();
    let find = |lines: &[String]| lines.iter().position(|l| l.contains("<Interval>")).unwrap();
    let i = find(&lines);
    lines[i] = "      <Interval>PT5S</Interval>".into();
    while find(&lines) + 1 < 29 {
        lines.insert(1, "<!-- filler -->".into());
    }
    let doc = lines.join("\n");
    assert_rejected(&doc, INVALID, "(29,24):Interval:PT5S");
}

#[test]
fn unknown_nodes_are_reported_with_their_position() {
    let mut d = Doc::new();
    d.settings.push_str("    <HideAppWindow>true</HideAppWindow>\n");
    let doc = d.render();
    assert_rejected(
        &doc,
        UNEXPECTED,
        &format!("{}:HideAppWindow:", reported(&doc, "<HideAppWindow>", 1)),
    );

    let mut d = Doc::new();
    d.triggers = d
        .triggers
        .replace("<DaysInterval>1</DaysInterval>", "<DaysInterval>1</DaysInterval><Funday/>");
    let doc = d.render();
    assert_rejected(&doc, UNEXPECTED, &format!("{}:Funday:", reported(&doc, "<Funday/>", 1)));

    let mut d = Doc::new();
    d.actions = d.actions.replace("<Exec>", "<Exec flavour=\"x\">");
    let doc = d.render();
    assert_rejected(&doc, UNEXPECTED, &format!("{}:flavour:", reported(&doc, "flavour=", 0)));
}

#[test]
fn version_gates_elements_like_windows() {
    // [X16]: `(33,7):UseUnifiedSchedulingEngine:` on a version 1.2 task, element indented
    // by four spaces on line 33.
    let mut d = Doc::new();
    d.settings.push_str("    <UseUnifiedSchedulingEngine>true</UseUnifiedSchedulingEngine>\n");
    let mut lines: Vec<String> = d.render().lines().map(str::to_string).collect();
    while lines.iter().position(|l| l.contains("<UseUnified")).unwrap() + 1 < 33 {
        lines.insert(2, "  <!-- filler -->".into());
    }
    let doc = lines.join("\n");
    assert_rejected(&doc, UNEXPECTED, "(33,7):UseUnifiedSchedulingEngine:");
    // Known from 1.3 on.
    d.version = "1.3".into();
    assert_eq!(create(&Fake::new(), "t", &d.render()).code, 0);
    // MaintenanceSettings needs 1.4.
    let mut d = Doc::new();
    d.version = "1.3".into();
    d.settings.push_str("    <MaintenanceSettings><Period>P1D</Period></MaintenanceSettings>\n");
    let doc = d.render();
    assert_rejected(
        &doc,
        UNEXPECTED,
        &format!("{}:MaintenanceSettings:", reported(&doc, "<MaintenanceSettings>", 1)),
    );
    // [X19]: an unknown version is an invalid value at the attribute: `(2,8):version:…`.
    let mut d = Doc::new();
    d.version = "1.7".into();
    assert_rejected(&d.render(), INVALID, "(2,8):version:1.7");
    d.version = "one".into();
    assert_rejected(&d.render(), INVALID, "(2,8):version:one");
}

#[test]
fn wrong_or_missing_namespace_is_rejected() {
    let mut d = Doc::new();
    d.ns = "http://example.com/not-the-task-namespace".into();
    assert_rejected(&d.render(), NAMESPACE, "(2,3):Task:");
    let doc = Doc::new().render().replace(&format!(" xmlns=\"{NS}\""), "");
    assert_rejected(&doc, NAMESPACE, "(2,3):Task:");
    // A foreign element inside the task.
    let mut d = Doc::new();
    d.settings.push_str("    <x:Extra xmlns:x=\"urn:other\">1</x:Extra>\n");
    let doc = d.render();
    assert_rejected(&doc, NAMESPACE, &format!("{}:Extra:", reported(&doc, "<x:Extra", 1)));
}

#[test]
fn values_are_validated_like_the_schema_says() {
    // (replace in the rendered base document, with, element name shown, value shown)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "<DaysInterval>1</DaysInterval>",
            "<DaysInterval>366</DaysInterval>",
            "DaysInterval",
            "366",
        ),
        ("<DaysInterval>1</DaysInterval>", "<DaysInterval>0</DaysInterval>", "DaysInterval", "0"),
        ("<Enabled>true</Enabled>", "<Enabled>yes</Enabled>", "Enabled", "yes"),
        ("<Enabled>true</Enabled>", "<Enabled>1</Enabled>", "Enabled", "1"),
        (
            "<ExecutionTimeLimit>PT72H</ExecutionTimeLimit>",
            "<ExecutionTimeLimit>72H</ExecutionTimeLimit>",
            "ExecutionTimeLimit",
            "72H",
        ),
        ("<Duration>PT23H30M</Duration>", "<Duration>PT30S</Duration>", "Duration", "PT30S"),
        (
            "<StartBoundary>2025-01-01T00:00:00</StartBoundary>",
            "<StartBoundary>2025-01-01 00:00:00</StartBoundary>",
            "StartBoundary",
            "2025-01-01 00:00:00",
        ),
        (
            "<StartBoundary>2025-01-01T00:00:00</StartBoundary>",
            "<StartBoundary>2025-02-30T00:00:00</StartBoundary>",
            "StartBoundary",
            "2025-02-30T00:00:00",
        ),
        (
            "<StartBoundary>2025-01-01T00:00:00</StartBoundary>",
            "<StartBoundary>2025-01-01T00:00:00+5:00</StartBoundary>",
            "StartBoundary",
            "2025-01-01T00:00:00+5:00",
        ),
        (
            "<LogonType>InteractiveToken</LogonType>",
            "<LogonType>Interactive</LogonType>",
            "LogonType",
            "Interactive",
        ),
        (
            "<RunLevel>LeastPrivilege</RunLevel>",
            "<RunLevel>Highest</RunLevel>",
            "RunLevel",
            "Highest",
        ),
        (
            "<MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>",
            "<MultipleInstancesPolicy>Skip</MultipleInstancesPolicy>",
            "MultipleInstancesPolicy",
            "Skip",
        ),
        (
            "<Enabled>true</Enabled>",
            "<Enabled>true</Enabled><Priority>11</Priority>",
            "Priority",
            "11",
        ),
    ];
    for (from, to, name, value) in cases {
        let doc = Doc::new().render().replacen(from, to, 1);
        let end_tag = format!("</{name}>");
        assert_rejected(&doc, INVALID, &format!("{}:{name}:{value}", reported(&doc, &end_tag, 2)));
    }
    // Valid edge values are accepted.
    for (from, to) in [
        ("<DaysInterval>1</DaysInterval>", "<DaysInterval>365</DaysInterval>"),
        ("<Enabled>true</Enabled>", "<Enabled>true</Enabled><Priority>10</Priority>"),
        (
            "<StartBoundary>2025-01-01T00:00:00</StartBoundary>",
            "<StartBoundary>2025-01-01T00:00:00Z</StartBoundary>",
        ),
        (
            "<StartBoundary>2025-01-01T00:00:00</StartBoundary>",
            "<StartBoundary>2025-01-01T00:00:00-05:00</StartBoundary>",
        ),
        (
            "<ExecutionTimeLimit>PT72H</ExecutionTimeLimit>",
            "<ExecutionTimeLimit>P1M4DT2H5M</ExecutionTimeLimit>",
        ),
    ] {
        assert_eq!(
            create(&Fake::new(), "ok", &Doc::new().render().replacen(from, to, 1)).code,
            0,
            "{to}"
        );
    }
}

#[test]
fn weekly_and_monthly_schedules_are_checked() {
    let wrap = |s: &str| {
        format!(
            "    <CalendarTrigger>\n      <StartBoundary>2025-01-01T06:00:00</StartBoundary>\n{s}    </CalendarTrigger>\n"
        )
    };
    let cases: &[(&str, &str, &str)] = &[
        (
            "      <ScheduleByWeek><WeeksInterval>53</WeeksInterval><DaysOfWeek><Monday/></DaysOfWeek></ScheduleByWeek>\n",
            "WeeksInterval",
            "53",
        ),
        (
            "      <ScheduleByMonth><DaysOfMonth><Day>32</Day></DaysOfMonth><Months><May/></Months></ScheduleByMonth>\n",
            "Day",
            "32",
        ),
        (
            "      <ScheduleByMonth><DaysOfMonth><Day>last</Day></DaysOfMonth></ScheduleByMonth>\n",
            "Day",
            "last",
        ),
        (
            "      <ScheduleByMonthDayOfWeek><Weeks><Week>5</Week></Weeks><DaysOfWeek><Monday/></DaysOfWeek></ScheduleByMonthDayOfWeek>\n",
            "Week",
            "5",
        ),
    ];
    for (sched, name, value) in cases {
        let mut d = Doc::new();
        d.triggers = wrap(sched);
        let doc = d.render();
        assert_rejected(
            &doc,
            INVALID,
            &format!("{}:{name}:{value}", reported(&doc, &format!("</{name}>"), 2)),
        );
    }
    for ok in [
        "      <ScheduleByMonth><DaysOfMonth><Day>1</Day><Day>Last</Day></DaysOfMonth><Months><January/><July/></Months></ScheduleByMonth>\n",
        "      <ScheduleByMonthDayOfWeek><Weeks><Week>2</Week><Week>Last</Week></Weeks><DaysOfWeek><Tuesday/></DaysOfWeek></ScheduleByMonthDayOfWeek>\n",
    ] {
        let mut d = Doc::new();
        d.triggers = wrap(ok);
        assert_eq!(create(&Fake::new(), "ok", &d.render()).code, 0, "{ok}");
    }
    // Exactly one schedule kind.
    let mut d = Doc::new();
    d.triggers = wrap(
        "      <ScheduleByDay/>\n      <ScheduleByWeek><DaysOfWeek><Monday/></DaysOfWeek></ScheduleByWeek>\n",
    );
    let doc = d.render();
    assert_rejected(
        &doc,
        UNEXPECTED,
        &format!("{}:ScheduleByWeek:", reported(&doc, "<ScheduleByWeek>", 1)),
    );
    let mut d = Doc::new();
    d.triggers = wrap("");
    let doc = d.render();
    assert_rejected(
        &doc,
        MISSING,
        &format!("{}:CalendarTrigger:", reported(&doc, "</CalendarTrigger>", 2)),
    );
    // Unknown day names.
    let mut d = Doc::new();
    d.triggers = wrap("      <ScheduleByWeek><DaysOfWeek><Mon/></DaysOfWeek></ScheduleByWeek>\n");
    let doc = d.render();
    assert_rejected(&doc, UNEXPECTED, &format!("{}:Mon:", reported(&doc, "<Mon/>", 1)));
}

#[test]
fn structure_rules_actions_principals_and_boundaries() {
    // StartBoundary is required on time and calendar triggers.
    let mut d = Doc::new();
    d.triggers = "    <TimeTrigger>\n      <Enabled>true</Enabled>\n    </TimeTrigger>\n".into();
    let doc = d.render();
    assert_rejected(
        &doc,
        MISSING,
        &format!("{}:StartBoundary:", reported(&doc, "</TimeTrigger>", 2)),
    );
    // Actions is required, with 1..32 actions.
    let doc = Doc::new().render().replace(&Doc::new().actions, "");
    assert_rejected(&doc, MISSING, &format!("{}:Actions:", reported(&doc, "</Actions>", 2)));
    let mut d = Doc::new();
    d.actions = "    <Exec><Command>a.exe</Command></Exec>\n".repeat(33);
    let doc = d.render();
    let nth33 = doc.match_indices("<Exec>").nth(32).unwrap().0;
    let line = doc[..nth33].matches('\n').count() + 1;
    assert_rejected(&doc, TOO_MANY, &format!("({line},7):Exec:"));
    // Exactly one principal.
    let mut d = Doc::new();
    d.principal = format!("{}{}", d.principal, d.principal.replace("Author", "Second"));
    let doc = d.render();
    assert_rejected(
        &doc,
        TOO_MANY,
        &format!("{}:Principal:", reported(&doc, "<Principal id=\"Second\"", 1)),
    );
    // Actions Context must name the principal.
    let mut d = Doc::new();
    d.context = "Someone".into();
    let doc = d.render();
    assert_rejected(&doc, INVALID, &format!("{}:Context:Someone", reported(&doc, "Context=", 0)));
    // EndBoundary before StartBoundary.
    let doc = Doc::new().render().replace(
        "<StartBoundary>2025-01-01T00:00:00</StartBoundary>",
        "<StartBoundary>2025-01-01T00:00:00</StartBoundary><EndBoundary>2024-12-31T00:00:00</EndBoundary>",
    );
    assert_rejected(
        &doc,
        INVALID,
        &format!("{}:EndBoundary:2024-12-31T00:00:00", reported(&doc, "</EndBoundary>", 2)),
    );
}

#[test]
fn element_order_is_not_enforced() {
    // The order Windows itself exports (Principals/Settings before Triggers, Repetition
    // before StartBoundary, Enabled last) is accepted (§4.3).
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Task version=\"1.4\" xmlns=\"{NS}\">\n  <Actions Context=\"Author\">\n    <Exec>\n      <WorkingDirectory>C:\\Tools</WorkingDirectory>\n      <Command>C:\\Tools\\orc.exe</Command>\n    </Exec>\n  </Actions>\n  <Principals>\n    <Principal id=\"Author\">\n      <RunLevel>LeastPrivilege</RunLevel>\n      <LogonType>InteractiveToken</LogonType>\n    </Principal>\n  </Principals>\n  <Settings>\n    <Enabled>true</Enabled>\n    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n  </Settings>\n  <Triggers>\n    <TimeTrigger>\n      <Repetition>\n        <StopAtDurationEnd>false</StopAtDurationEnd>\n        <Interval>PT30M</Interval>\n      </Repetition>\n      <StartBoundary>2025-01-01T00:00:00</StartBoundary>\n      <Enabled>true</Enabled>\n    </TimeTrigger>\n  </Triggers>\n  <RegistrationInfo>\n    <Author>orc</Author>\n  </RegistrationInfo>\n</Task>\n"
    );
    assert_eq!(create(&Fake::new(), "t", &doc).code, 0);
}

// ---------------------------------------------------------------------------------------
// /Query
// ---------------------------------------------------------------------------------------

fn onedrive_task(start: &str) -> String {
    let mut d = Doc::new();
    d.triggers = format!(
        "    <TimeTrigger>\n      <StartBoundary>{start}</StartBoundary>\n    </TimeTrigger>\n"
    );
    d.render()
}

#[test]
fn table_nh_reproduces_sample_x14() {
    let f = Fake::new().env("FAKE_SCHTASKS_NOW", "2022-03-08T12:00:00");
    create(
        &f,
        "OneDrive Reporting Task-S-1-5-21-2640942563-1100000000-1000",
        &onedrive_task("2022-03-08T13:50:48"),
    )
    .ok();
    create(
        &f,
        "OneDrive Standalone Update Task-S-1-5-21-2640942563-1100000000-1000",
        &onedrive_task("2022-03-08T15:29:47"),
    )
    .ok();
    // An empty folder: created with a task, which is then deleted (folders stay).
    create(&f, "\\Microsoft\\tmp", &onedrive_task("2022-03-08T15:29:47")).ok();
    f.run(&["/Delete", "/TN", "\\Microsoft\\tmp", "/F"]).ok();
    let r = f.run(&["/Query", "/FO", "TABLE", "/NH"]);
    let sample = "
Folder: \\
OneDrive Reporting Task-S-1-5-21-2640942 3/8/2022 1:50:48 PM    Ready
OneDrive Standalone Update Task-S-1-5-21 3/8/2022 3:29:47 PM    Ready

Folder: \\Microsoft
INFO: There are no scheduled tasks presently available at your access level.
";
    let got: Vec<&str> = r.ok().split("\r\n").map(str::trim_end).collect();
    let want: Vec<&str> = sample.split('\n').collect();
    assert_eq!(got, want);
    // Columns are padded to exactly 40/22/15.
    let row = r.stdout.split("\r\n").nth(2).unwrap();
    assert_eq!(row.chars().count(), 40 + 1 + 22 + 1 + 15);
}

#[test]
fn table_has_header_and_underline_per_folder() {
    let f = Fake::new();
    create(&f, "\\A\\one", &Doc::new().render()).ok();
    create(&f, "two", &Doc::new().render()).ok();
    let r = f.run(&["/Query"]);
    let header = format!("{:<40} {:<22} {:<15}", "TaskName", "Next Run Time", "Status");
    let rule = format!("{} {} {}", "=".repeat(40), "=".repeat(22), "=".repeat(15));
    let expected = [
        "",
        "Folder: \\",
        &header,
        &rule,
        &format!("{:<40} {:<22} {:<15}", "two", "3/10/2025 8:30:00 AM", "Ready"),
        "",
        "Folder: \\A",
        &header,
        &rule,
        &format!("{:<40} {:<22} {:<15}", "one", "3/10/2025 8:30:00 AM", "Ready"),
        "",
    ]
    .join("\r\n");
    assert_eq!(r.ok(), expected);
}

const R1_SAMPLE: &str = r#"Folder: \resticprofile backup
HostName:                             WIN-5NMJF0VS8OR
TaskName:                             \resticprofile backup\self backup
Next Run Time:                        04/08/2025 21:15:00
Status:                               Ready
Logon Mode:                           Interactive only
Last Run Time:                        04/08/2025 21:00:01
Last Result:                          1
Author:                               resticprofile
Task To Run:                          G:\go\src\github.com\creativeprojects\resticprofile\resticprofile.exe --no-ansi --config "examples\othere windows.yaml" run-schedule backup@self
Start In:                             G:\go\src\github.com\creativeprojects\resticprofile
Comment:                              resticprofile backup for profile self in examples\othere windows.yaml
Scheduled Task State:                 Enabled
Idle Time:                            Disabled
Power Management:                     Stop On Battery Mode, No Start On Batteries
Run As User:                          Fred
Delete Task If Not Rescheduled:       Disabled
Stop Task If Runs X Hours and X Mins: Disabled
Schedule:                             Scheduling data is not available in this format.
Schedule Type:                        Weekly
Start Time:                           20:15:00
Start Date:                           04/08/2025
End Date:                             N/A
Days:                                 MON, TUE, WED, THU, FRI
Months:                               Every 1 week(s)
Repeat: Every:                        0 Hour(s), 15 Minute(s)
Repeat: Until: Time:                  None
Repeat: Until: Duration:              23 Hour(s), 45 Minute(s)
Repeat: Stop If Still Running:        Disabled

HostName:                             WIN-5NMJF0VS8OR
TaskName:                             \resticprofile backup\self backup
Next Run Time:                        04/08/2025 21:15:00
Status:                               Ready
Logon Mode:                           Interactive only
Last Run Time:                        04/08/2025 21:00:01
Last Result:                          1
Author:                               resticprofile
Task To Run:                          G:\go\src\github.com\creativeprojects\resticprofile\resticprofile.exe --no-ansi --config "examples\othere windows.yaml" run-schedule backup@self
Start In:                             G:\go\src\github.com\creativeprojects\resticprofile
Comment:                              resticprofile backup for profile self in examples\othere windows.yaml
Scheduled Task State:                 Enabled
Idle Time:                            Disabled
Power Management:                     Stop On Battery Mode, No Start On Batteries
Run As User:                          Fred
Delete Task If Not Rescheduled:       Disabled
Stop Task If Runs X Hours and X Mins: Disabled
Schedule:                             Scheduling data is not available in this format.
Schedule Type:                        Weekly
Start Time:                           00:00:00
Start Date:                           09/08/2025
End Date:                             N/A
Days:                                 SUN, SAT
Months:                               Every 1 week(s)
Repeat: Every:                        12 Hour(s), 0 Minute(s)
Repeat: Until: Time:                  None
Repeat: Until: Duration:              12 Hour(s), 0 Minute(s)
Repeat: Stop If Still Running:        Disabled"#;

#[test]
fn verbose_list_reproduces_sample_r1_one_record_per_trigger() {
    let f = Fake::new()
        .env("FAKE_SCHTASKS_HOSTNAME", "WIN-5NMJF0VS8OR")
        .env("FAKE_SCHTASKS_NOW", "2025-08-04T21:10:00");
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.4" xmlns="{NS}">
  <RegistrationInfo>
    <Author>resticprofile</Author>
    <Description>resticprofile backup for profile self in examples\othere windows.yaml</Description>
  </RegistrationInfo>
  <Triggers>
    <CalendarTrigger>
      <StartBoundary>2025-08-04T20:15:00</StartBoundary>
      <Repetition><Interval>PT15M</Interval><Duration>PT23H45M</Duration></Repetition>
      <ScheduleByWeek><WeeksInterval>1</WeeksInterval><DaysOfWeek><Monday/><Tuesday/><Wednesday/><Thursday/><Friday/></DaysOfWeek></ScheduleByWeek>
    </CalendarTrigger>
    <CalendarTrigger>
      <StartBoundary>2025-08-09T00:00:00</StartBoundary>
      <Repetition><Interval>PT12H</Interval><Duration>PT12H</Duration></Repetition>
      <ScheduleByWeek><WeeksInterval>1</WeeksInterval><DaysOfWeek><Sunday/><Saturday/></DaysOfWeek></ScheduleByWeek>
    </CalendarTrigger>
  </Triggers>
  <Principals><Principal id="Author"><UserId>Fred</UserId><LogonType>InteractiveToken</LogonType></Principal></Principals>
  <Settings><ExecutionTimeLimit>PT0S</ExecutionTimeLimit></Settings>
  <Actions Context="Author">
    <Exec>
      <Command>G:\go\src\github.com\creativeprojects\resticprofile\resticprofile.exe</Command>
      <Arguments>--no-ansi --config "examples\othere windows.yaml" run-schedule backup@self</Arguments>
      <WorkingDirectory>G:\go\src\github.com\creativeprojects\resticprofile</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
"#
    );
    create(&f, "\\resticprofile backup\\self backup", &doc).ok();
    f.run(&[
        "--fake-set",
        "\\resticprofile backup\\self backup",
        "last_result=1",
        "last_run=2025-08-04T21:00:01",
    ])
    .ok();
    let r = f.run(&["/Query", "/FO", "LIST", "/V", "/TN", "\\resticprofile backup\\self backup"]);
    let out = r.ok();
    assert!(out.starts_with("\r\nFolder: "));
    assert_eq!(normalise_list(&out[2..]), normalise_list(R1_SAMPLE));
    // en-US rendering of the same instants.
    assert!(out.contains("\r\nNext Run Time:                        8/4/2025 9:15:00 PM\r\n"));
    assert!(out.contains("\r\nLast Run Time:                        8/4/2025 9:00:01 PM\r\n"));
    assert!(out.contains("\r\nStart Time:                           8:15:00 PM\r\n"));
    assert!(out.contains("\r\nStart Date:                           8/9/2025\r\n"));
    // Non-verbose LIST: 5 fields, label width 15, still one record per trigger.
    let r = f.run(&["/Query", "/FO", "LIST", "/TN", "\\resticprofile backup\\self backup"]);
    let record = "HostName:      WIN-5NMJF0VS8OR\r\nTaskName:      \\resticprofile backup\\self backup\r\nNext Run Time: 8/4/2025 9:15:00 PM\r\nStatus:        Ready\r\nLogon Mode:    Interactive only\r\n";
    assert_eq!(r.ok(), format!("\r\nFolder: \\resticprofile backup\r\n{record}\r\n{record}"));
}

const X4_SAMPLE: &str = r#"Folder: \
HostName:                             WIN-JTSARSVBH32
TaskName:                             \BDC_HIVE_DB_BACKUP_30MIN
Next Run Time:                        18.02.2026 5:37:00
Status:                               Ready
Logon Mode:                           Interactive/Background
Last Run Time:                        30.11.1999 0:00:00
Last Result:                          267011
Author:                               WIN-JTSARSVBH32\user
Task To Run:                          pwsh.exe -NoProfile -ExecutionPolicy Bypass -File "D:\projects\Bio_Digital_Core\Bio_digital_core\tools\hive_core_mvp\tools\backup\hive_backup.ps1"
Start In:                             N/A
Comment:                              N/A
Scheduled Task State:                 Enabled
Idle Time:                            Disabled
Power Management:                     Stop On Battery Mode, No Start On Batteries
Run As User:                          СИСТЕМА
Delete Task If Not Rescheduled:       Disabled
Stop Task If Runs X Hours and X Mins: 72:00:00
Schedule:                             Scheduling data is not available in this format.
Schedule Type:                        One Time Only, Minute 
Start Time:                           5:07:00
Start Date:                           18.02.2026
End Date:                             N/A
Days:                                 N/A
Months:                               N/A
Repeat: Every:                        0 Hour(s), 30 Minute(s)
Repeat: Until: Time:                  None
Repeat: Until: Duration:              Disabled
Repeat: Stop If Still Running:        Disabled"#;

#[test]
fn sc_minute_task_reproduces_sample_x4() {
    let f = Fake::new()
        .env("FAKE_SCHTASKS_HOSTNAME", "WIN-JTSARSVBH32")
        .env("FAKE_SCHTASKS_USER", "user")
        .env("FAKE_SCHTASKS_NOW", "2026-02-18T05:10:00");
    let tr = r#"pwsh.exe -NoProfile -ExecutionPolicy Bypass -File "D:\projects\Bio_Digital_Core\Bio_digital_core\tools\hive_core_mvp\tools\backup\hive_backup.ps1""#;
    let r = f.run(&[
        "/Create",
        "/TN",
        "BDC_HIVE_DB_BACKUP_30MIN",
        "/TR",
        tr,
        "/SC",
        "MINUTE",
        "/MO",
        "30",
        "/ST",
        "05:07",
        "/SD",
        "02/18/2026",
        "/RU",
        "SYSTEM",
        "/F",
    ]);
    // [X4]: "SUCCESS: The scheduled task "BDC_HIVE_DB_BACKUP_30MIN" has successfully been created."
    assert_eq!(
        r.ok(),
        "SUCCESS: The scheduled task \"BDC_HIVE_DB_BACKUP_30MIN\" has successfully been created.\r\n"
    );
    let out = f.run(&["/Query", "/TN", "BDC_HIVE_DB_BACKUP_30MIN", "/FO", "LIST", "/V"]);
    // The sample is from a ru-RU machine, which localises the SYSTEM account name.
    let sample = X4_SAMPLE.replace("СИСТЕМА", "SYSTEM");
    assert_eq!(normalise_list(&out.ok()[2..]), normalise_list(&sample));
    assert!(out.stdout.contains("Next Run Time:                        2/18/2026 5:37:00 AM\r\n"));
    // The trailing space of "One Time Only, Minute " is kept.
    assert!(
        out.stdout.contains("Schedule Type:                        One Time Only, Minute \r\n")
    );
}

#[test]
fn verbose_list_of_a_running_onstart_task_reproduces_sample_x8() {
    let f = Fake::new().env("FAKE_SCHTASKS_HOSTNAME", "omni");
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="{NS}">
  <RegistrationInfo><Author>OMNI\Administrator</Author></RegistrationInfo>
  <Triggers><BootTrigger><Enabled>true</Enabled></BootTrigger></Triggers>
  <Principals><Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal></Principals>
  <Settings><Enabled>true</Enabled></Settings>
  <Actions Context="Author"><Exec><Command>C:\Program Files\WindowsPowerShell\Modules\PackageManagement\r.bat</Command></Exec></Actions>
</Task>
"#
    );
    create(&f, "revert", &doc).ok();
    f.run(&[
        "--fake-set",
        "\\revert",
        "status=Running",
        "last_result=267009",
        "last_run=2021-01-10T23:03:40",
    ])
    .ok();
    let sample = r#"
Folder: \
HostName:                             omni
TaskName:                             \revert
Next Run Time:                        N/A
Status:                               Running
Logon Mode:                           Interactive/Background
Last Run Time:                        1/10/2021 11:03:40 PM
Last Result:                          267009
Author:                               OMNI\Administrator
Task To Run:                          C:\Program Files\WindowsPowerShell\Modules\PackageManagement\r.bat
Start In:                             N/A
Comment:                              N/A
Scheduled Task State:                 Enabled
Idle Time:                            Disabled
Power Management:                     Stop On Battery Mode, No Start On Batteries
Run As User:                          SYSTEM
Delete Task If Not Rescheduled:       Disabled
Stop Task If Runs X Hours and X Mins: 72:00:00
Schedule:                             Scheduling data is not available in this format.
Schedule Type:                        At system start up
Start Time:                           N/A
Start Date:                           N/A
End Date:                             N/A
Days:                                 N/A
Months:                               N/A
Repeat: Every:                        N/A
Repeat: Until: Time:                  N/A
Repeat: Until: Duration:              N/A
Repeat: Stop If Still Running:        N/A
"#;
    let r = f.run(&["/Query", "/FO", "LIST", "/V", "/TN", "revert"]);
    let got: Vec<&str> = r.ok().split("\r\n").map(str::trim_end).collect();
    assert_eq!(got, sample.split('\n').collect::<Vec<_>>());
    // "Command" + space + "Arguments": the space is there even without arguments (§2.6).
    assert!(r.stdout.contains("\\r.bat \r\n"));
}

const B1_SAMPLE: &str = r#""SOURCECOMPUTER","\Update Everything","N/A","Ready","Interactive only","1999-11-30 00:00:00","267011","SOURCECOMPUTER\zaphodb",""C:\Program Files\PowerShell\7\pwsh.exe" -File Update-Everything.ps1","A:\Scripts","Installs updates.","Enabled","Disabled","Stop On Battery Mode, No Start On Batteries","zaphodb","Disabled","72:00:00","Scheduling data is not available in this format.","At logon time","N/A","N/A","N/A","N/A","N/A","N/A","N/A","N/A","N/A"
"HostName","TaskName","Next Run Time","Status","Logon Mode","Last Run Time","Last Result","Author","Task To Run","Start In","Comment","Scheduled Task State","Idle Time","Power Management","Run As User","Delete Task If Not Rescheduled","Stop Task If Runs X Hours and X Mins","Schedule","Schedule Type","Start Time","Start Date","End Date","Days","Months","Repeat: Every","Repeat: Until: Time","Repeat: Until: Duration","Repeat: Stop If Still Running"
"HostName","TaskName","Next Run Time","Status","Logon Mode","Last Run Time","Last Result","Author","Task To Run","Start In","Comment","Scheduled Task State","Idle Time","Power Management","Run As User","Delete Task If Not Rescheduled","Stop Task If Runs X Hours and X Mins","Schedule","Schedule Type","Start Time","Start Date","End Date","Days","Months","Repeat: Every","Repeat: Until: Time","Repeat: Until: Duration","Repeat: Stop If Still Running"
"SOURCECOMPUTER","\PowerToys\Autorun for zaphodb","N/A","Ready","Interactive only","1999-11-30 00:00:00","267011","SOURCECOMPUTER\zaphodb","C:\Program Files\PowerToys\PowerToys.exe ","N/A","N/A","Enabled","Disabled","","zaphodb","Disabled","Disabled","Scheduling data is not available in this format.","At logon time","N/A","N/A","N/A","N/A","N/A","N/A","N/A","N/A","N/A""#;

#[test]
fn verbose_csv_of_a_remote_host_reproduces_sample_b1() {
    let f = Fake::new();
    let logon = |author: &str, command: &str, extra_exec: &str, reg_extra: &str, settings: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.4" xmlns="{NS}">
  <RegistrationInfo><Author>{author}</Author>{reg_extra}</RegistrationInfo>
  <Triggers><LogonTrigger><Enabled>true</Enabled><UserId>SOURCECOMPUTER\zaphodb</UserId></LogonTrigger></Triggers>
  <Principals><Principal id="Author"><UserId>SOURCECOMPUTER\zaphodb</UserId><LogonType>InteractiveToken</LogonType></Principal></Principals>
  <Settings>{settings}</Settings>
  <Actions Context="Author"><Exec><Command>{command}</Command>{extra_exec}</Exec></Actions>
</Task>
"#
        )
    };
    let update = logon(
        "SOURCECOMPUTER\\zaphodb",
        "\"C:\\Program Files\\PowerShell\\7\\pwsh.exe\"",
        "<Arguments>-File Update-Everything.ps1</Arguments><WorkingDirectory>A:\\Scripts</WorkingDirectory>",
        "<Description>Installs updates.</Description>",
        "",
    );
    let toys = logon(
        "SOURCECOMPUTER\\zaphodb",
        "C:\\Program Files\\PowerToys\\PowerToys.exe",
        "",
        "",
        "<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries><StopIfGoingOnBatteries>false</StopIfGoingOnBatteries><ExecutionTimeLimit>PT0S</ExecutionTimeLimit>",
    );
    let remote = |tn: &str, doc: &str| {
        let p = f.xml_file("r.xml", doc);
        f.run(&["/Create", "/S", "SourceComputer", "/TN", tn, "/XML", p.to_str().unwrap(), "/F"])
            .ok()
            .to_string()
    };
    remote("Update Everything", &update);
    remote("\\PowerToys\\Autorun for zaphodb", &toys);
    remote("\\Microsoft\\tmp", &update);
    f.run(&["/Delete", "/S", "SourceComputer", "/TN", "\\Microsoft\\tmp", "/F"]).ok();
    let r = f.run(&["/query", "/s", "SourceComputer", "/v", "/fo", "csv"]);
    let lines: Vec<&str> = r.ok().split("\r\n").collect();
    assert_eq!(lines[0], "");
    assert_eq!(lines[1], B1_SAMPLE.lines().nth(1).unwrap(), "the header of the root folder");
    let got: Vec<String> =
        lines[2..].iter().filter(|l| !l.is_empty()).map(|l| normalise_csv_line(l)).collect();
    let want: Vec<String> = B1_SAMPLE.lines().map(normalise_csv_line).collect();
    assert_eq!(got, want);
    // The remote store is separate from the local one.
    assert_eq!(f.run(&["/Query", "/TN", "Update Everything"]).stderr, FILE_NOT_FOUND);
}

#[test]
fn csv_non_verbose_has_three_columns_and_nh_drops_headers() {
    let f = Fake::new();
    create(&f, "\\A\\one", &Doc::new().render()).ok();
    let r = f.run(&["/Query", "/FO", "CSV"]);
    assert_eq!(
        r.ok(),
        "\r\n\"TaskName\",\"Next Run Time\",\"Status\"\r\n\"TaskName\",\"Next Run Time\",\"Status\"\r\n\"\\A\\one\",\"3/10/2025 8:30:00 AM\",\"Ready\"\r\n"
    );
    let r = f.run(&["/Query", "/FO", "CSV", "/NH"]);
    assert_eq!(r.ok(), "\r\n\"\\A\\one\",\"3/10/2025 8:30:00 AM\",\"Ready\"\r\n");
    // /NH is for TABLE and CSV only.
    let r = f.run(&["/Query", "/FO", "LIST", "/NH"]);
    assert_eq!(r.code, E_FAIL_EXIT);
}

#[test]
fn a_task_without_triggers_is_on_demand_only() {
    let f = Fake::new();
    let mut d = Doc::new();
    d.triggers = String::new();
    create(&f, "manual", &d.render()).ok();
    let r = f.run(&["/Query", "/TN", "manual", "/FO", "CSV", "/V", "/NH"]);
    let line = r.ok().lines().nth(1).unwrap().to_string();
    assert!(
        line.ends_with(r#""Disabled","72:00:00","Scheduling data is not available in this format.","On demand only","N/A","N/A","N/A","N/A","N/A","N/A","N/A","N/A","N/A""#),
        "{line}"
    );
    assert!(line.contains(r#""\manual","N/A","Ready""#), "{line}");
}

#[test]
fn query_of_missing_tasks_folders_and_wildcards_fails() {
    let f = Fake::new();
    create(&f, "\\Microsoft\\Windows\\Defrag\\ScheduledDefrag", &Doc::new().render()).ok();
    for tn in [
        "NoSuchTask",
        "\\No Such Folder\\NoSuchTask",
        "\\Microsoft\\Windows\\Defrag\\*",
        "\\Microsoft\\Windows\\Defrag\\",
        "\\Microsoft\\Windows\\Defrag",
    ] {
        let r = f.run(&["/Query", "/TN", tn]);
        assert_eq!((r.code, r.stderr.as_str(), r.stdout.as_str()), (1, FILE_NOT_FOUND, ""), "{tn}");
    }
    let r = f.run(&["/Query", "/TN", "\\Microsoft\\Windows\\Defrag*"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "ERROR: The system cannot find the path specified.\r\n")
    );
    // Names are case-insensitive and the leading backslash is optional.
    f.run(&["/Query", "/TN", "microsoft\\WINDOWS\\defrag\\scheduleddefrag"]).ok();
}

#[test]
fn query_xml_exports_the_definition() {
    let f = Fake::new();
    create(&f, "\\Orchestrator\\Orc_x", &Doc::new().render()).ok();
    create(&f, "\\Orchestrator\\Orc_y", &Doc::new().render()).ok();
    let r = f.run(&["/Query", "/TN", "\\Orchestrator\\Orc_x", "/XML"]);
    let out = r.ok();
    assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\r\n"));
    // Text on the pipe is not UTF-16 (§2.10).
    assert!(!r.stdout_bytes.contains(&0));
    assert!(
        out.contains("    <Description>orc job x sha256=0123abcd &amp; more</Description>\r\n")
    );
    assert!(out.contains("    <URI>\\Orchestrator\\Orc_x</URI>\r\n"));
    assert!(out.contains("        <Interval>PT30M</Interval>\r\n"));
    assert!(out.ends_with("</Task>\r\n"));
    // The export is itself a valid definition: it can be registered again.
    let p = f.raw_file("export.xml", out.replacen("UTF-16", "UTF-8", 1).as_bytes());
    f.run(&["/Create", "/TN", "copy", "/XML", p.to_str().unwrap()]).ok();
    // /XML ONE: one document with a comment naming each task.
    let r = f.run(&["/Query", "/XML", "ONE"]);
    let one = r.ok();
    assert!(one.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Tasks>\r\n  <!-- \\copy -->\r\n  <Task "
    ));
    assert!(one.contains("  <!-- \\Orchestrator\\Orc_x -->\r\n"));
    assert!(one.contains("  <!-- \\Orchestrator\\Orc_y -->\r\n"));
    assert!(one.ends_with("</Tasks>\r\n"));
    // Without ONE: concatenated documents.
    let all = f.run(&["/Query", "/XML"]);
    assert_eq!(all.ok().matches("<?xml version=\"1.0\" encoding=\"UTF-16\"?>").count(), 3);
}

#[test]
fn fr_fr_localises_labels_status_and_dates() {
    let f = Fake::new().env("FAKE_SCHTASKS_LOCALE", "fr-FR");
    create(&f, "tache", &Doc::new().render()).ok();
    let r = f.run(&["/Query", "/TN", "tache", "/FO", "CSV", "/V"]);
    let header = r.ok().lines().nth(1).unwrap();
    // Headers reported for French Windows ([I5]).
    let want = [
        "Nom de l'hôte",
        "Nom de la tâche",
        "Prochaine exécution",
        "Statut",
        "Mode d'ouverture de session",
        "Heure de la dernière exécution",
        "Dernier résultat",
        "Auteur",
        "Tâche à exécuter",
    ];
    let cols: Vec<&str> = header.trim_matches('"').split("\",\"").collect();
    assert_eq!(cols.len(), 28);
    assert_eq!(&cols[..9], &want);
    let row = r.stdout.lines().nth(2).unwrap();
    assert!(row.contains("\"10/03/2025 08:30:00\",\"Prêt\""), "{row}");
    assert!(row.contains("\"30/11/1999 00:00:00\""), "{row}");
    f.run(&["--fake-set", "\\tache", "status=Running"]).ok();
    let r = f.run(&["/Query", "/TN", "tache", "/FO", "LIST"]);
    assert!(r.ok().contains("Statut:"), "{r:?}");
    assert!(r.stdout.contains("En cours d'exécution\r\n"), "{r:?}");
    // Errors are localised as well.
    let r = f.run(&["/Run", "/TN", "absent"]);
    assert_eq!(r.stderr, "ERREUR : Le fichier spécifié est introuvable.\r\n");
}

#[test]
fn cp850_output_encodes_non_ascii_bytes() {
    let f = Fake::new()
        .env("FAKE_SCHTASKS_LOCALE", "fr-FR")
        .env("FAKE_SCHTASKS_OUTPUT_ENCODING", "cp850");
    create(&f, "tache", &Doc::new().render()).ok();
    let r = f.run(&["/Query", "/TN", "tache", "/FO", "CSV", "/NH"]);
    assert_eq!(r.code, 0);
    // "Prêt": ê is 0x88 in code page 850.
    let needle = b"\"Pr\x88t\"";
    assert!(r.stdout_bytes.windows(needle.len()).any(|w| w == needle), "{:?}", r.stdout_bytes);
    assert!(std::str::from_utf8(&r.stdout_bytes).is_err());
}

// ---------------------------------------------------------------------------------------
// /Change /Run /End /Delete
// ---------------------------------------------------------------------------------------

#[test]
fn change_disable_then_run_fails_enable_then_run_works() {
    let f = Fake::new();
    create(&f, "\\Orchestrator\\Orc_x", &Doc::new().render()).ok();
    let r = f.run(&["/Change", "/TN", "\\Orchestrator\\Orc_x", "/DISABLE"]);
    assert_eq!(
        r.ok(),
        "SUCCESS: The parameters of scheduled task \"\\Orchestrator\\Orc_x\" have been changed.\r\n"
    );
    let q = f.run(&["/Query", "/TN", "\\Orchestrator\\Orc_x", "/FO", "CSV", "/NH"]);
    assert_eq!(q.ok(), "\r\n\"\\Orchestrator\\Orc_x\",\"N/A\",\"Disabled\"\r\n");
    let xml = f.run(&["/Query", "/TN", "\\Orchestrator\\Orc_x", "/XML"]);
    assert!(xml.ok().contains("<Enabled>false</Enabled>"));
    for args in [
        &["/Run", "/TN", "\\Orchestrator\\Orc_x"][..],
        &["/Run", "/I", "/TN", "\\Orchestrator\\Orc_x"][..],
    ] {
        let r = f.run(args);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (
                1,
                "",
                "ERROR: The scheduled task \"\\Orchestrator\\Orc_x\" could not run because it is disabled.\r\n"
            )
        );
    }
    f.run(&["/Change", "/TN", "\\Orchestrator\\Orc_x", "/ENABLE"]).ok();
    let r = f.run(&["/Change", "/TN", "\\Orchestrator\\Orc_x", "/ENABLE"]);
    assert_eq!(
        r.ok(),
        "INFO: The scheduled task \"\\Orchestrator\\Orc_x\" has already been enabled.\r\nSUCCESS: The parameters of scheduled task \"\\Orchestrator\\Orc_x\" have been changed.\r\n"
    );
    let r = f.run(&["/Run", "/TN", "\\Orchestrator\\Orc_x"]);
    assert_eq!(
        r.ok(),
        "SUCCESS: Attempted to run the scheduled task \"\\Orchestrator\\Orc_x\".\r\n"
    );
    let q = f.run(&["/Query", "/TN", "\\Orchestrator\\Orc_x", "/FO", "CSV", "/V", "/NH"]);
    assert!(
        q.ok().contains(r#""Ready","Interactive only","3/10/2025 8:00:00 AM","0","orc""#),
        "{q:?}"
    );
}

#[test]
fn change_tr_and_start_time_rewrite_the_definition() {
    let f = Fake::new();
    f.run(&["/Create", "/TN", "d", "/TR", "notepad.exe", "/SC", "DAILY", "/ST", "03:00"]).ok();
    let r =
        f.run(&["/Change", "/TN", "d", "/TR", "\"C:\\Program Files\\x.exe\" -a b", "/ST", "04:30"]);
    r.ok();
    let q = f.run(&["/Query", "/TN", "d", "/FO", "LIST", "/V"]);
    assert!(
        q.ok().contains(
            "Task To Run:                          \"C:\\Program Files\\x.exe\" -a b\r\n"
        )
    );
    assert!(q.stdout.contains("Start Time:                           4:30:00 AM\r\n"));
    assert!(q.stdout.contains("Next Run Time:                        3/11/2025 4:30:00 AM\r\n"));
}

#[test]
fn change_et_before_the_start_is_rejected_like_sample_x17() {
    let f = Fake::new();
    f.run(&["/Create", "/TN", "d", "/TR", "notepad.exe", "/SC", "DAILY", "/ST", "03:00"]).ok();
    let r = f.run(&["/Change", "/TN", "d", "/ET", "02:00"]);
    // [X17]: `(11,42):EndBoundary:2026-08-06T02:00:00` – same column in the fake's own
    // (two-space indented) rendering; the line depends on the document.
    assert!(r.stderr.starts_with(&format!("ERROR: {INVALID}\r\n(")), "{r:?}");
    assert!(r.stderr.ends_with(",42):EndBoundary:2025-03-10T02:00:00\r\n"), "{r:?}");
    assert_eq!(r.code, 1);
}

#[test]
fn change_of_a_missing_task_names_it() {
    let f = Fake::new();
    let r = f.run(&[
        "/Change",
        "/TN",
        "\\Microsoft\\Windows\\Media Center\\ActivateWindowsSearch",
        "/DISABLE",
    ]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            1,
            "ERROR: The specified task name \"\\Microsoft\\Windows\\Media Center\\ActivateWindowsSearch\" does not exist in the system.\r\n"
        )
    );
    let f = f.env("FAKE_SCHTASKS_NOT_FOUND", "file");
    let r = f.run(&["/Change", "/TN", "x", "/DISABLE"]);
    assert_eq!((r.code, r.stderr.as_str()), (1, FILE_NOT_FOUND));
}

#[test]
fn missing_tasks_fail_with_exit_1_on_every_verb() {
    let f = Fake::new();
    for args in [
        &["/Query", "/TN", "nope"][..],
        &["/Run", "/TN", "nope"][..],
        &["/End", "/TN", "nope"][..],
        &["/Delete", "/TN", "nope", "/F"][..],
    ] {
        let r = f.run(args);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (1, "", FILE_NOT_FOUND),
            "{args:?}"
        );
    }
}

#[test]
fn end_terminates_a_running_task_and_succeeds_when_idle() {
    let f = Fake::new();
    create(&f, "t", &Doc::new().render()).ok();
    let ended = "SUCCESS: The scheduled task \"t\" has been terminated successfully.\r\n";
    assert_eq!(f.run(&["/End", "/TN", "t"]).ok(), ended);
    let csv = |f: &Fake| f.run(&["/Query", "/TN", "t", "/FO", "CSV", "/V", "/NH"]).ok().to_string();
    assert!(csv(&f).contains(r#","Ready","Interactive only","11/30/1999 12:00:00 AM","267011","#));
    f.run(&["--fake-set", "\\t", "status=Running", "last_result=267009"]).ok();
    assert!(csv(&f).contains(r#","Running","#));
    // IgnoreNew: /Run while running only says so.
    let r = f.run(&["/Run", "/TN", "t"]);
    assert_eq!(
        r.ok(),
        "INFO: scheduled task \"t\" is currently running.\r\nSUCCESS: Attempted to run the scheduled task \"t\".\r\n"
    );
    assert_eq!(f.run(&["/End", "/TN", "t"]).ok(), ended);
    assert!(csv(&f).contains(r#","Ready","Interactive only","11/30/1999 12:00:00 AM","267014","#));
}

/// Registers `tn` with an Exec action running `fake_schtasks --fake-sleep <args>`.
fn sleeper(f: &Fake, tn: &str, args: &str) {
    let exe = fake_support::fake_exe();
    let mut d = Doc::new();
    d.actions = format!(
        "    <Exec>\n      <Command>{}</Command>\n      <Arguments>--fake-sleep {args}</Arguments>\n    </Exec>\n",
        exe.display()
    );
    create(f, tn, &d.render()).ok();
}

#[test]
fn fake_fire_runs_the_action_and_records_its_exit_code() {
    let f = Fake::new();
    sleeper(&f, "job", "0 2");
    let r = f.run(&["--fake-fire", "\\job"]);
    assert_eq!(r.ok(), "FAKE: \\job finished; last result 2\n");
    let q = f.run(&["/Query", "/TN", "job", "/FO", "CSV", "/V", "/NH"]);
    assert!(q.ok().contains(r#","Ready","Interactive only","3/10/2025 8:00:00 AM","2","#), "{q:?}");
    // A command that does not exist: Last Result 0x80070002, printed signed.
    let mut d = Doc::new();
    d.actions = "    <Exec><Command>C:\\does\\not\\exist.exe</Command></Exec>\n".into();
    create(&f, "broken", &d.render()).ok();
    f.run(&["--fake-fire", "\\broken"]).ok();
    let q = f.run(&["/Query", "/TN", "broken", "/FO", "CSV", "/V", "/NH"]);
    assert!(q.ok().contains(r#","-2147024894","#), "{q:?}");
    // A disabled task does not fire.
    f.run(&["/Change", "/TN", "job", "/DISABLE"]).ok();
    assert_eq!(f.run(&["--fake-fire", "\\job"]).code, 1);
}

#[test]
fn fake_fire_refuses_a_missing_start_in_like_windows() {
    let f = Fake::new();
    let exe = fake_support::fake_exe();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone");
    let with_start_in = |start_in: &std::path::Path| {
        let mut d = Doc::new();
        d.actions = format!(
            "    <Exec>\n      <Command>{}</Command>\n      <Arguments>--fake-sleep 0 2</Arguments>\n      <WorkingDirectory>{}</WorkingDirectory>\n    </Exec>\n",
            exe.display(),
            start_in.display()
        );
        d.render()
    };
    // Start In exists: the action runs (its exit code 2 is the Last Result).
    create(&f, "ok", &with_start_in(dir.path())).ok();
    assert_eq!(f.run(&["--fake-fire", "\\ok"]).ok(), "FAKE: \\ok finished; last result 2\n");
    // Start In missing: no process, Last Result 0x8007010B ("The directory name is invalid"),
    // printed signed by the query, and Start In shown as registered.
    create(&f, "nodir", &with_start_in(&missing)).ok();
    assert_eq!(
        f.run(&["--fake-fire", "\\nodir"]).ok(),
        "FAKE: \\nodir finished; last result -2147024629\n"
    );
    let q = f.run(&["/Query", "/TN", "nodir", "/FO", "CSV", "/V", "/NH"]);
    assert!(q.ok().contains(r#","-2147024629","#), "{q:?}");
    assert!(q.ok().contains(&format!(",\"{}\",", missing.display())), "{q:?}");
}

#[test]
fn run_spawn_wait_records_the_exit_code() {
    let f = Fake::new().env("FAKE_SCHTASKS_RUN", "spawn-wait");
    sleeper(&f, "job", "0 2");
    let r = f.run(&["/Run", "/TN", "job"]);
    assert_eq!(r.ok(), "SUCCESS: Attempted to run the scheduled task \"job\".\r\n");
    let q = f.run(&["/Query", "/TN", "job", "/FO", "CSV", "/V", "/NH"]);
    assert!(q.ok().contains(r#","Ready","Interactive only","3/10/2025 8:00:00 AM","2","#), "{q:?}");
}

#[test]
fn run_spawn_detaches_and_end_stops_the_instance() {
    let f = Fake::new().env("FAKE_SCHTASKS_RUN", "spawn");
    sleeper(&f, "slow", "20000");
    // Output goes to a file rather than a pipe: under Wine a detached grandchild keeps
    // the Unix side of the caller's stdout pipe open (a Wine artefact; on Windows the fake
    // makes its standard handles non-inheritable before starting anything).
    let out_file = f.scratch().join("run.out");
    let started = std::time::Instant::now();
    let status = f
        .command(&["/Run", "/TN", "slow"])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_file).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "/Run waited for the action");
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "SUCCESS: Attempted to run the scheduled task \"slow\".\r\n"
    );
    let q = f.run(&["/Query", "/TN", "slow", "/FO", "CSV", "/V", "/NH"]);
    assert!(
        q.ok().contains(r#","Running","Interactive only","3/10/2025 8:00:00 AM","267009","#),
        "{q:?}"
    );
    f.run(&["/End", "/TN", "slow"]).ok();
    let q = f.run(&["/Query", "/TN", "slow", "/FO", "CSV", "/V", "/NH"]);
    assert!(
        q.ok().contains(r#","Ready","Interactive only","3/10/2025 8:00:00 AM","267014","#),
        "{q:?}"
    );
    // A short action finishes on its own and records its exit code.
    sleeper(&f, "quick", "100 7");
    let status =
        f.command(&["/Run", "/TN", "quick"]).stdout(std::process::Stdio::null()).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let q = f.run(&["/Query", "/TN", "quick", "/FO", "CSV", "/V", "/NH"]);
        if q.ok().contains(r#","Ready","Interactive only","3/10/2025 8:00:00 AM","7","#) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the detached run never finished: {q:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn delete_with_f_prompt_folder_and_wildcard() {
    let f = Fake::new();
    create(&f, "\\Orchestrator\\Orc_x", &Doc::new().render()).ok();
    let r = f.run(&["/Delete", "/TN", "\\Orchestrator\\Orc_x"]);
    let prompt =
        "WARNING: Are you sure you want to remove the task \"\\Orchestrator\\Orc_x\" (Y/N)? ";
    assert_eq!((r.code, r.stdout.as_str()), (1, format!("{prompt}\r\n").as_str()));
    let r = f.run_stdin(&["/Delete", "/TN", "\\Orchestrator\\Orc_x"], Some("n\n"));
    assert_eq!(r.code, 1);
    f.run(&["/Query", "/TN", "\\Orchestrator\\Orc_x"]).ok();
    // A folder is not a task.
    let r = f.run(&["/Delete", "/TN", "\\Orchestrator", "/F"]);
    assert_eq!((r.code, r.stderr.as_str()), (1, "ERROR: Access is denied.\r\n"));
    let r = f.run_stdin(&["/Delete", "/TN", "\\Orchestrator\\Orc_x"], Some("y\n"));
    assert_eq!(
        r.ok(),
        format!(
            "{prompt}\r\nSUCCESS: The scheduled task \"\\Orchestrator\\Orc_x\" was successfully deleted.\r\n"
        )
    );
    let r = f.run(&["/Query", "/TN", "\\Orchestrator\\Orc_x"]);
    assert_eq!((r.code, r.stderr.as_str()), (1, FILE_NOT_FOUND));
    // The folder stays.
    let r = f.run(&["/Query"]);
    assert!(r.ok().ends_with(&format!("Folder: \\Orchestrator\r\n{NO_TASKS}\r\n")), "{r:?}");
    // /TN * deletes every task.
    create(&f, "a", &Doc::new().render()).ok();
    create(&f, "\\B\\b", &Doc::new().render()).ok();
    let r = f.run(&["/Delete", "/TN", "*", "/F"]);
    assert_eq!(r.ok(), "SUCCESS: The scheduled task \"*\" was successfully deleted.\r\n");
    assert_eq!(f.run(&["/Query", "/FO", "CSV", "/NH"]).ok(), "\r\n");
}

#[test]
fn sc_forms_build_the_expected_triggers() {
    let f = Fake::new();
    let cases: &[(&[&str], &str, &str)] = &[
        (&["/SC", "DAILY", "/ST", "03:00"], "Daily ", "Every 1 day(s)"),
        (&["/SC", "HOURLY", "/MO", "2", "/ST", "03:00"], "One Time Only, Hourly ", "N/A"),
        (&["/SC", "WEEKLY", "/D", "MON,WED,FRI", "/ST", "03:00"], "Weekly", "MON, WED, FRI"),
        (&["/SC", "WEEKLY", "/ST", "03:00"], "Weekly", "MON"),
        (&["/SC", "MONTHLY", "/MO", "LASTDAY", "/M", "*", "/ST", "18:00"], "Monthly", "32"),
        (&["/SC", "MONTHLY", "/MO", "FIRST", "/D", "MON", "/ST", "18:00"], "Monthly", "MON"),
        (&["/SC", "MONTHLY", "/D", "15", "/ST", "18:00"], "Monthly", "15"),
        (&["/SC", "ONCE", "/ST", "23:00"], "One Time Only", "N/A"),
        (&["/SC", "ONSTART"], "At system start up", "N/A"),
        (&["/SC", "ONLOGON"], "At logon time", "N/A"),
        (&["/SC", "ONIDLE", "/I", "10"], "At idle time", "N/A"),
        (
            &["/SC", "ONEVENT", "/EC", "System", "/MO", "*[System/EventID=101]"],
            "When an event occurs",
            "N/A",
        ),
    ];
    for (i, (sched, kind, days)) in cases.iter().enumerate() {
        let tn = format!("t{i}");
        let mut args = vec!["/Create", "/TN", tn.as_str(), "/TR", "C:\\x.exe"];
        args.extend_from_slice(sched);
        f.run(&args).ok();
        let q = f.run(&["/Query", "/TN", &tn, "/FO", "CSV", "/V", "/NH"]);
        let line = q.ok().lines().nth(1).unwrap().to_string();
        let cols: Vec<&str> = line.trim_matches('"').split("\",\"").collect();
        assert_eq!((cols[18], cols[22]), (*kind, *days), "{sched:?}: {line}");
        // CLI-created defaults (§1.5).
        assert_eq!(cols[13], "Stop On Battery Mode, No Start On Batteries");
        assert_eq!(cols[16], "72:00:00");
        assert_eq!(cols[8], "C:\\x.exe ");
    }
    // MONTHLY LASTDAY needs /M; ONIDLE needs /I.
    let r = f.run(&["/Create", "/TN", "m", "/TR", "x", "/SC", "MONTHLY", "/MO", "LASTDAY"]);
    assert_eq!(r.code, E_FAIL_EXIT);
    let r = f.run(&["/Create", "/TN", "m", "/TR", "x", "/SC", "ONIDLE"]);
    assert_eq!(r.code, E_FAIL_EXIT);
    // /Z needs an end date: the service refuses a task that can never expire.
    let r = f.run(&["/Create", "/TN", "z", "/TR", "x", "/SC", "DAILY", "/ST", "03:00", "/Z"]);
    assert!(r.stderr.starts_with(&format!("ERROR: {MISSING}\r\n(")), "{r:?}");
    assert_eq!(r.code, 1);
    f.run(&[
        "/Create",
        "/TN",
        "z",
        "/TR",
        "x",
        "/SC",
        "DAILY",
        "/ST",
        "03:00",
        "/ED",
        "12/31/2025",
        "/Z",
    ])
    .ok();
}

// ---------------------------------------------------------------------------------------
// Environment: faults, remote hosts, call log, concurrency
// ---------------------------------------------------------------------------------------

#[test]
fn access_denied_mode_denies_every_mutating_verb() {
    let f = Fake::new();
    create(&f, "t", &Doc::new().render()).ok();
    let f = f.env("FAKE_SCHTASKS_MODE", "access-denied");
    let p = f.xml_file("t.xml", &Doc::new().render());
    for args in [
        &["/Create", "/TN", "u", "/XML", p.to_str().unwrap()][..],
        &["/Create", "/TN", "u", "/TR", "x", "/SC", "DAILY"][..],
        &["/Delete", "/TN", "t", "/F"][..],
        &["/Change", "/TN", "t", "/DISABLE"][..],
        &["/Run", "/TN", "t"][..],
        &["/End", "/TN", "t"][..],
    ] {
        let r = f.run(args);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (1, "", "ERROR: Access is denied.\r\n"),
            "{args:?}"
        );
    }
    f.run(&["/Query", "/TN", "t"]).ok();
}

#[test]
fn non_elevated_mode_denies_only_privileged_operations() {
    let f = Fake::new().env("FAKE_SCHTASKS_MODE", "non-elevated");
    let denied = "ERROR: Access is denied.\r\n";
    for args in [
        &["/Create", "/TN", "a", "/TR", "x", "/SC", "DAILY", "/RU", "SYSTEM"][..],
        &["/Create", "/TN", "a", "/TR", "x", "/SC", "DAILY", "/RL", "HIGHEST"][..],
        &["/Create", "/TN", "a", "/TR", "x", "/SC", "ONLOGON"][..],
        &["/Create", "/TN", "a", "/TR", "x", "/SC", "ONSTART"][..],
    ] {
        let r = f.run(args);
        assert_eq!((r.code, r.stderr.as_str()), (1, denied), "{args:?}");
    }
    let mut d = Doc::new();
    d.principal = d.principal.replace("LeastPrivilege", "HighestAvailable");
    let r = create(&f, "b", &d.render());
    assert_eq!((r.code, r.stderr.as_str()), (1, denied));
    let p = f.xml_file("ok.xml", &Doc::new().render());
    let r = f.run(&["/Create", "/TN", "b", "/XML", p.to_str().unwrap(), "/RU", "SYSTEM"]);
    assert_eq!((r.code, r.stderr.as_str()), (1, denied));
    // A boot trigger in XML needs an administrator like /SC ONSTART.
    let mut d = Doc::new();
    d.triggers.push_str("    <BootTrigger>\n      <Enabled>true</Enabled>\n    </BootTrigger>\n");
    let r = create(&f, "b", &d.render());
    assert_eq!((r.code, r.stderr.as_str()), (1, denied));
    // Ordinary work is fine.
    create(&f, "c", &Doc::new().render()).ok();
    f.run(&["/Create", "/TN", "d", "/TR", "x", "/SC", "DAILY", "/ST", "03:00"]).ok();
    f.run(&["/Change", "/TN", "c", "/DISABLE"]).ok();
    let r = f.run(&["/Change", "/TN", "c", "/RL", "HIGHEST"]);
    assert_eq!((r.code, r.stderr.as_str()), (1, denied));
}

#[test]
fn service_unavailable_fails_every_verb_after_parsing() {
    let f = Fake::new().env("FAKE_SCHTASKS_MODE", "service-unavailable");
    let r = f.run(&["/Query"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "ERROR: The Task Scheduler Service is not running.\r\n")
    );
    // Syntax errors and help come first.
    assert_eq!(f.run(&["/Query", "/bogus"]).code, E_FAIL_EXIT);
    f.run(&["/?"]).ok();
}

#[test]
fn remote_hosts_have_their_own_store_and_can_be_unreachable() {
    let f = Fake::new().env("FAKE_SCHTASKS_HOSTS", "srv1,srv2");
    let p = f.xml_file("t.xml", &Doc::new().render());
    let p = p.to_str().unwrap();
    f.run(&["/Create", "/S", "srv1", "/U", "dom\\admin", "/P", "secret", "/TN", "a", "/XML", p])
        .ok();
    f.run(&["/Create", "/S", "SRV2", "/TN", "b", "/XML", p]).ok();
    let one = f.run(&["/Query", "/S", "srv1", "/FO", "CSV", "/NH"]);
    assert_eq!(one.ok(), "\r\n\"\\a\",\"3/10/2025 8:30:00 AM\",\"Ready\"\r\n");
    let two = f.run(&["/Query", "/S", "srv2", "/FO", "LIST"]);
    assert!(two.ok().contains("HostName:      SRV2\r\nTaskName:      \\b\r\n"), "{two:?}");
    let r = f.run(&["/Query", "/S", "srv3"]);
    assert_eq!((r.code, r.stderr.as_str()), (1, "ERROR: The RPC server is unavailable.\r\n"));
    // The local store is untouched.
    assert_eq!(f.run(&[]).ok(), format!("\r\nFolder: \\\r\n{NO_TASKS}\r\n"));
}

#[test]
fn call_log_gets_one_tab_separated_line_per_invocation() {
    let f = Fake::new();
    let log = f.scratch().join("calls.log");
    let f = f.env("FAKE_SCHTASKS_CALL_LOG", log.to_str().unwrap());
    f.run(&["/Query", "/TN", "x"]);
    f.run(&["/Query", "/FO", "CSV", "/NH"]).ok();
    f.run(&["/Create", "/TN", "a b", "/TR", "x", "/SC", "bogus"]);
    f.run(&["--fake-set", "\\nothing"]);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text,
        "/Query\t/TN\tx\n/Query\t/FO\tCSV\t/NH\n/Create\t/TN\ta b\t/TR\tx\t/SC\tbogus\n"
    );
}

#[test]
fn hresult_switch_changes_runtime_exit_codes() {
    let f = Fake::new();
    let r = f.run(&["/Query", "/TN", "nope", "/HRESULT"]);
    let want = if cfg!(windows) { 0x8007_0002_u32 as i32 } else { 0x02 };
    assert_eq!((r.code, r.stderr.as_str()), (want, FILE_NOT_FOUND));
}

#[test]
fn unknown_environment_values_abort_loudly() {
    let f = Fake::new().env("FAKE_SCHTASKS_MODE", "acess-denied");
    let r = f.run(&["/Query"]);
    assert_ne!(r.code, 0);
    assert_ne!(r.code, 1);
    assert!(r.stderr.contains("FAKE_SCHTASKS_MODE=\"acess-denied\""), "{r:?}");
    let mut f = Fake::new();
    f.unset_env("FAKE_SCHTASKS_ROOT");
    let r = f.run(&["/Query"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("FAKE_SCHTASKS_ROOT is not set"), "{r:?}");
}

#[test]
fn delay_ms_slows_every_call() {
    let f = Fake::new().env("FAKE_SCHTASKS_DELAY_MS", "300");
    let t = std::time::Instant::now();
    f.run(&["/Query"]).ok();
    assert!(t.elapsed() >= std::time::Duration::from_millis(300));
}

#[test]
fn concurrent_invocations_do_not_corrupt_the_store() {
    let f = Fake::new();
    let p = f.xml_file("t.xml", &Doc::new().render());
    let p = p.to_str().unwrap().to_string();
    std::thread::scope(|s| {
        for i in 0..12 {
            let f = &f;
            let p = p.clone();
            s.spawn(move || {
                let tn = format!("\\Orchestrator\\Orc_{i}");
                f.run(&["/Create", "/TN", &tn, "/XML", &p, "/F"]).ok();
                f.run(&["/Run", "/TN", &tn]).ok();
                f.run(&["/Change", "/TN", &tn, "/DISABLE"]).ok();
                f.run(&["/Query", "/FO", "CSV", "/V"]).ok();
            });
        }
    });
    let r = f.run(&["/Query", "/FO", "CSV", "/NH"]);
    let rows: Vec<&str> = r.ok().lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 12, "{rows:?}");
    assert!(rows.iter().all(|l| l.ends_with("\"N/A\",\"Disabled\"")), "{rows:?}");
}
