//! Command-line parsing the way schtasks does it: one verb (default `/Query`), switches
//! introduced by `/` or `-`, case-insensitive, in any order, each at most once.

use crate::locale::Tr;
use crate::out::Fail;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Create,
    Delete,
    Query,
    Change,
    Run,
    End,
}

impl Verb {
    pub(crate) fn upper(self) -> &'static str {
        match self {
            Verb::Create => "CREATE",
            Verb::Delete => "DELETE",
            Verb::Query => "QUERY",
            Verb::Change => "CHANGE",
            Verb::Run => "RUN",
            Verb::End => "END",
        }
    }

    fn from_switch(s: &str) -> Option<Verb> {
        let name = s.strip_prefix('/').or_else(|| s.strip_prefix('-'))?;
        match name.to_ascii_uppercase().as_str() {
            "CREATE" => Some(Verb::Create),
            "DELETE" => Some(Verb::Delete),
            "QUERY" => Some(Verb::Query),
            "CHANGE" => Some(Verb::Change),
            "RUN" => Some(Verb::Run),
            "END" => Some(Verb::End),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arity {
    Flag,
    Value,
    /// `/P [password]`, `/RP [password]`: the value may be omitted (then prompted for).
    Optional,
    /// `/XML [ONE]` of `/Query`.
    XmlOne,
}

const REMOTE: [(&str, Arity); 3] =
    [("S", Arity::Value), ("U", Arity::Value), ("P", Arity::Optional)];

fn specs(verb: Verb) -> Vec<(&'static str, Arity)> {
    use Arity::*;
    let mut v: Vec<(&'static str, Arity)> = REMOTE.to_vec();
    v.push(("HRESULT", Flag));
    let extra: &[(&str, Arity)] = match verb {
        Verb::Create => &[
            ("RU", Value),
            ("RP", Optional),
            ("SC", Value),
            ("MO", Value),
            ("D", Value),
            ("M", Value),
            ("I", Value),
            ("TN", Value),
            ("TR", Value),
            ("ST", Value),
            ("RI", Value),
            ("ET", Value),
            ("DU", Value),
            ("K", Flag),
            ("XML", Value),
            ("V1", Flag),
            ("SD", Value),
            ("ED", Value),
            ("IT", Flag),
            ("NP", Flag),
            ("Z", Flag),
            ("F", Flag),
            ("RL", Value),
            ("DELAY", Value),
            ("EC", Value),
        ],
        Verb::Query => &[("FO", Value), ("NH", Flag), ("V", Flag), ("TN", Value), ("XML", XmlOne)],
        Verb::Delete => &[("TN", Value), ("F", Flag)],
        Verb::Run => &[("TN", Value), ("I", Flag)],
        Verb::End => &[("TN", Value)],
        Verb::Change => &[
            ("TN", Value),
            ("RU", Value),
            ("RP", Optional),
            ("TR", Value),
            ("ST", Value),
            ("RI", Value),
            ("ET", Value),
            ("DU", Value),
            ("K", Flag),
            ("SD", Value),
            ("ED", Value),
            ("ENABLE", Flag),
            ("DISABLE", Flag),
            ("IT", Flag),
            ("Z", Flag),
            ("RL", Value),
            ("DELAY", Value),
        ],
    };
    v.extend_from_slice(extra);
    v
}

/// Options whose value may legitimately be an empty string.
const EMPTY_OK: [&str; 4] = ["RU", "RP", "P", "U"];

#[derive(Clone, Debug)]
pub(crate) struct Opt {
    /// The switch as typed (`/tn`), for messages.
    pub(crate) typed: String,
    pub(crate) value: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Args {
    pub(crate) verb: Verb,
    pub(crate) explicit_verb: bool,
    pub(crate) help: bool,
    opts: Vec<(&'static str, Opt)>,
}

impl Args {
    pub(crate) fn has(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, _)| *n == name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Opt> {
        self.opts.iter().find(|(n, _)| *n == name).map(|(_, o)| o)
    }

    /// The value of a value-taking option (`None` when absent or given without value).
    pub(crate) fn val(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|o| o.value.as_deref())
    }

    /// The first option (in command-line order) among `names`, as typed.
    pub(crate) fn first_of(&self, names: &[&str]) -> Option<&Opt> {
        self.opts.iter().find(|(n, _)| names.contains(n)).map(|(_, o)| o)
    }
}

fn switch_name(token: &str) -> Option<&str> {
    let t = token.strip_prefix('/').or_else(|| token.strip_prefix('-'))?;
    if t.is_empty() { None } else { Some(t) }
}

/// Syntax error with the usage hint of the verb.
pub(crate) fn syntax(tr: Tr, verb: Verb, line: String) -> Fail {
    Fail::syntax(vec![line, tr.usage(verb.upper())])
}

pub(crate) fn parse(tr: Tr, argv: &[String]) -> Result<Args, Fail> {
    let verb_at = argv.iter().position(|t| Verb::from_switch(t).is_some());
    let (verb, explicit) = match verb_at {
        Some(i) => (Verb::from_switch(&argv[i]).unwrap_or(Verb::Query), true),
        None => (Verb::Query, false),
    };
    let table = specs(verb);
    let lookup = |tok: &str| -> Option<(&'static str, Arity)> {
        let name = switch_name(tok)?;
        table.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).copied()
    };
    let mut args = Args { verb, explicit_verb: explicit, help: false, opts: Vec::new() };
    let mut i = 0;
    while i < argv.len() {
        let tok = &argv[i];
        i += 1;
        if Some(i - 1) == verb_at {
            continue;
        }
        if tok == "/?" || tok == "-?" {
            args.help = true;
            continue;
        }
        let Some((name, arity)) = lookup(tok) else {
            return Err(syntax(tr, verb, tr.invalid_argument(tok)));
        };
        if args.has(name) {
            return Err(syntax(
                tr,
                verb,
                tr.error(&format!(
                    "Invalid syntax. '{tok}' option is not allowed more than '1' time(s)."
                )),
            ));
        }
        let next_is_switch = |j: usize| {
            argv.get(j).is_some_and(|t| {
                lookup(t).is_some() || t == "/?" || t == "-?" || Some(j) == verb_at
            })
        };
        let value = match arity {
            Arity::Flag => None,
            Arity::Value => {
                if i >= argv.len()
                    || next_is_switch(i)
                    || (argv[i].is_empty() && !EMPTY_OK.contains(&name))
                {
                    return Err(syntax(
                        tr,
                        verb,
                        tr.error(&format!("Invalid syntax. Value expected for '{tok}'.")),
                    ));
                }
                i += 1;
                Some(argv[i - 1].clone())
            }
            Arity::Optional => {
                if i < argv.len() && !next_is_switch(i) {
                    i += 1;
                    Some(argv[i - 1].clone())
                } else {
                    None
                }
            }
            Arity::XmlOne => {
                if i < argv.len() && argv[i].eq_ignore_ascii_case("ONE") {
                    i += 1;
                    Some(argv[i - 1].clone())
                } else {
                    None
                }
            }
        };
        args.opts.push((name, Opt { typed: tok.clone(), value }));
    }
    if args.help && !args.opts.is_empty() {
        // [U] `/?` must stand alone (after the verb).
        return Err(syntax(tr, verb, tr.invalid_argument("/?")));
    }
    if !args.help {
        if args.has("U") && !args.has("S") {
            return Err(syntax(
                tr,
                verb,
                tr.error("Invalid syntax. /U can be specified only when /S is specified."),
            ));
        }
        if args.has("P") && !args.has("U") {
            return Err(syntax(
                tr,
                verb,
                tr.error("Invalid syntax. /P can be specified only when /U is specified."),
            ));
        }
    }
    Ok(args)
}

/// `ERROR: Invalid syntax. Mandatory option '/tn' is missing.`
pub(crate) fn mandatory(tr: Tr, verb: Verb, opt: &str) -> Fail {
    syntax(
        tr,
        verb,
        tr.error(&format!(
            "Invalid syntax. Mandatory option '/{}' is missing.",
            opt.to_ascii_lowercase()
        )),
    )
}

pub(crate) fn help_text(verb: Option<Verb>, date_pattern: &str) -> String {
    match verb {
        None => HELP_MAIN.to_string(),
        Some(Verb::Create) => HELP_CREATE.replace("{DATE}", date_pattern),
        Some(Verb::Delete) => HELP_DELETE.to_string(),
        Some(Verb::Query) => HELP_QUERY.to_string(),
        Some(Verb::Change) => HELP_CHANGE.replace("{DATE}", date_pattern),
        Some(Verb::Run) => HELP_RUN.to_string(),
        Some(Verb::End) => HELP_END.to_string(),
    }
}

// Help pages: syntax blocks as captured (§1.1, §2.1, §3.1); the descriptive text is the
// fake's own condensed version ([U] beyond the captured lines).

const HELP_MAIN: &str = "
SCHTASKS /parameter [arguments]

Description:
    Enables an administrator to create, delete, query, change, run and
    end scheduled tasks on a local or remote system.

Parameter List:
    /Create         Creates a new scheduled task.

    /Delete         Deletes the scheduled task(s).

    /Query          Displays all scheduled tasks.

    /Change         Changes the properties of scheduled task.

    /Run            Runs the scheduled task on demand.

    /End            Stops the currently running scheduled task.

    /?              Displays this help message.

Examples:
    SCHTASKS
    SCHTASKS /?
    SCHTASKS /Run /?
    SCHTASKS /End /?
    SCHTASKS /Create /?
    SCHTASKS /Delete /?
    SCHTASKS /Query  /?
    SCHTASKS /Change /?
";

const HELP_CREATE: &str = "
SCHTASKS /Create [/S system [/U username [/P [password]]]]
    [/RU username [/RP password]] /SC schedule [/MO modifier] [/D day]
    [/M months] [/I idletime] /TN taskname /TR taskrun [/ST starttime]
    [/RI interval] [ {/ET endtime | /DU duration} [/K] [/XML xmlfile] [/V1]]
    [/SD startdate] [/ED enddate] [/IT | /NP] [/Z] [/F] [/HRESULT] [/?]

Description:
    Enables an administrator to create scheduled tasks on a local or
    remote system.

Parameter List:
    /S   system        Specifies the remote system to connect to.
    /U   username      Specifies the user context under which SchTasks.exe
                       should execute.
    /P   [password]    Specifies the password for the given user context.
    /RU  username      Specifies the \"run as\" user account.
    /RP  [password]    Specifies the password for the \"run as\" user.
    /SC   schedule     Specifies the schedule frequency.
                       Valid schedule types: MINUTE, HOURLY, DAILY, WEEKLY,
                       MONTHLY, ONCE, ONSTART, ONLOGON, ONIDLE, ONEVENT.
    /MO   modifier     Refines the schedule type.
    /D    days         Specifies the day of the week to run the task.
    /M    months       Specifies month(s) of the year.
    /I    idletime     Specifies the amount of idle time to wait before
                       running a scheduled ONIDLE task. Valid range: 1 - 999.
    /TN   taskname     Specifies the string in the form of path\\name.
    /TR   taskrun      Specifies the path and file name of the program to be
                       run at the scheduled time.
    /ST   starttime    Specifies the start time to run the task. The time
                       format is HH:mm (24 hour time).
    /RI   interval     Specifies the repetition interval in minutes.
    /ET   endtime      Specifies the end time to run the task (HH:mm).
    /DU   duration     Specifies the duration to run the task (HH:mm).
    /K                 Terminates the task at the endtime or duration time.
    /SD   startdate    Specifies the first date on which the task runs.
                       The format is {DATE}.
    /ED   enddate      Specifies the last date when the task should run.
                       The format is {DATE}.
    /EC   ChannelName  Specifies the event channel for OnEvent triggers.
    /IT                Run the task interactively only.
    /NP                No password is stored.
    /Z                 Marks the task for deletion after its final run.
    /XML  xmlfile      Creates a task from the task XML specified in a file.
    /V1                Creates a task visible to pre-Vista platforms.
    /F                 Forcefully creates the task and suppresses warnings if
                       the specified task already exists.
    /RL   level        Sets the Run Level for the job. Valid values are
                       LIMITED and HIGHEST. The default is LIMITED.
    /DELAY delaytime   Specifies the wait time to delay the running of the
                       task after the trigger is fired (mmmm:ss).
    /HRESULT           For better diagnosability, the process exit code
                       will be in the HRESULT format.
    /?                 Displays this help message.

Modifiers: Valid values for the /MO switch per schedule type:
    MINUTE:  1 - 1439 minutes.
    HOURLY:  1 - 23 hours.
    DAILY:   1 - 365 days.
    WEEKLY:  weeks 1 - 52.
    ONCE:    No modifiers.
    ONSTART: No modifiers.
    ONLOGON: No modifiers.
    ONIDLE:  No modifiers.
    MONTHLY: 1 - 12, or
             FIRST, SECOND, THIRD, FOURTH, LAST, LASTDAY.

    ONEVENT:  XPath event query string.
";

const HELP_QUERY: &str = "
SCHTASKS /Query [/S system [/U username [/P [password]]]]
         [/FO format | /XML [xml_type]] [/NH] [/V]
         [/TN taskname] [/HRESULT] [/?]

Description:
    Enables an administrator to display the scheduled tasks on the
    local or remote system.

Parameter List:
    /S     system         Specifies the remote system to connect to.
    /U     username       Specifies the user context under which
                          schtasks.exe should execute.
    /P     [password]     Specifies the password for the given user context.
    /FO    format         Specifies the format for the output.
                          Valid values: TABLE, LIST, CSV.
    /NH                   Specifies that the column header should not be
                          displayed in the output. Valid only for TABLE and
                          CSV formats.
    /V                    Displays verbose task output.
    /TN    taskname       Specifies the task name for which to retrieve the
                          information, else all of them.
    /XML   [xml_type]     Displays task definitions in XML format.
                          If xml_type is ONE then the output will be one valid
                          XML file. If xml_type is not present then the output
                          will be the concatenation of all XML task definitions.
    /HRESULT              For better diagnosability, the process exit code
                          will be in the HRESULT format.
    /?                    Displays this help message.
";

const HELP_DELETE: &str = "
SCHTASKS /Delete [/S system [/U username [/P [password]]]]
         /TN taskname [/F] [/HRESULT] [/?]

Description:
    Deletes one or more scheduled tasks.

Parameter List:
    /S     system         Specifies the remote system to connect to.
    /U     username       Specifies the user context under which
                          schtasks.exe should execute.
    /P     [password]     Specifies the password for the given user context.
    /TN    taskname       Specifies the name of the scheduled task to delete.
                          Wildcard \"*\" may be used to delete all tasks.
    /F                    Forcefully deletes the task and suppresses warnings
                          if the specified task is currently running.
    /HRESULT              For better diagnosability, the process exit code
                          will be in the HRESULT format.
    /?                    Displays this help message.
";

const HELP_RUN: &str = "
SCHTASKS /Run [/S system [/U username [/P [password]]]] [/I]
         /TN taskname [/HRESULT] [/?]

Description:
    Runs a scheduled task on demand.

Parameter List:
    /S     system         Specifies the remote system to connect to.
    /U     username       Specifies the user context under which
                          schtasks.exe should execute.
    /P     [password]     Specifies the password for the given user context.
    /I                    Runs the task immediately by ignoring any constraint.
    /TN    taskname       Identifies the scheduled task to run now.
    /HRESULT              For better diagnosability, the process exit code
                          will be in the HRESULT format.
    /?                    Displays this help message.
";

const HELP_END: &str = "
SCHTASKS /End [/S system [/U username [/P [password]]]]
         /TN taskname [/HRESULT] [/?]

Description:
    Stops a running scheduled task.

Parameter List:
    /S     system         Specifies the remote system to connect to.
    /U     username       Specifies the user context under which
                          schtasks.exe should execute.
    /P     [password]     Specifies the password for the given user context.
    /TN    taskname       Specifies the scheduled task to terminate.
    /HRESULT              For better diagnosability, the process exit code
                          will be in the HRESULT format.
    /?                    Displays this help message.
";

const HELP_CHANGE: &str = "
SCHTASKS /Change [/S system [/U username [/P [password]]]] /TN taskname
     { [/RU runasuser] [/RP runaspassword] [/TR taskrun] [/ST starttime]
       [/RI interval] [ {/ET endtime | /DU duration} [/K] ]
       [/SD startdate] [/ED enddate] [/ENABLE | /DISABLE] [/IT] [/Z] }
       [/HRESULT] [/?]

Description:
    Changes the program to run, or user account and password used
    by a scheduled task.

Parameter List:
    /S     system         Specifies the remote system to connect to.
    /U     username       Specifies the user context under which
                          schtasks.exe should execute.
    /P     [password]     Specifies the password for the given user context.
    /TN    taskname       Specifies which scheduled task to change.
    /RU    username       Changes the user name (user context) under which the
                          scheduled task has to run.
    /RP    password       Specifies a new password for the existing user context.
    /TR    taskrun        Specifies a new program that the scheduled task runs.
    /ST    starttime      Specifies the start time (HH:mm).
    /RI    interval       Specifies the repetition interval in minutes.
    /ET    endtime        Specifies the end time (HH:mm).
    /DU    duration       Specifies the duration (HH:mm).
    /K                    Terminates the task at the endtime or duration time.
    /SD    startdate      Specifies the first date ({DATE}).
    /ED    enddate        Specifies the last date ({DATE}).
    /IT                   Run the task interactively only.
    /RL    level          Sets the Run Level: LIMITED or HIGHEST.
    /DELAY delaytime      Specifies the delay after the trigger fires (mmmm:ss).
    /ENABLE               Enables the scheduled task.
    /DISABLE              Disables the scheduled task.
    /Z                    Marks the task for deletion after its final run.
    /HRESULT              For better diagnosability, the process exit code
                          will be in the HRESULT format.
    /?                    Displays this help message.
";
