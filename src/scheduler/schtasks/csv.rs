//! Parser for `schtasks /Query /FO CSV /V [/NH]`.
//!
//! The verbose CSV has 28 columns and one row per **trigger**; it is *not* RFC 4180:
//! embedded double quotes are not escaped (`""C:\Program Files\x.exe" -a"`), values may
//! contain raw line breaks (a multi-line Description in `Comment`), the header row is repeated
//! once per folder unless `/NH` is given, blank lines and `INFO:` lines appear between blocks,
//! and every word and date is localized. So this parser:
//!
//! * works by **column position** only (never by header text) and never interprets dates or
//!   words;
//! * finds record boundaries structurally: a record starts with `"` at the start of a line and
//!   ends at a line ending in `"` once 27 `","` separators have been seen; a line break after
//!   the 7 fixed leading columns is inside a free-text field, never a record boundary (see
//!   [`parse`]);
//! * splits fields on `","`; when a free-text field itself contains `","`, the 7 leading
//!   columns (up to Last Result) and the 17 trailing columns (from Scheduled Task State) are
//!   anchored and the surplus is given back to the `Comment` column;
//! * skips header rows (their TaskName does not start with `\`), blank lines, `INFO:` lines
//!   and anything that is not a 28-column record (reported in [`Parsed::skipped`]).

/// Number of columns of the verbose CSV.
pub const COLUMNS: usize = 28;

/// Column positions (0-based) of the verbose CSV, in the real order.
pub mod col {
    pub const HOST_NAME: usize = 0;
    pub const TASK_NAME: usize = 1;
    pub const NEXT_RUN_TIME: usize = 2;
    pub const STATUS: usize = 3;
    pub const LOGON_MODE: usize = 4;
    pub const LAST_RUN_TIME: usize = 5;
    pub const LAST_RESULT: usize = 6;
    pub const AUTHOR: usize = 7;
    pub const TASK_TO_RUN: usize = 8;
    pub const START_IN: usize = 9;
    pub const COMMENT: usize = 10;
    pub const SCHEDULED_TASK_STATE: usize = 11;
    pub const IDLE_TIME: usize = 12;
    pub const POWER_MANAGEMENT: usize = 13;
    pub const RUN_AS_USER: usize = 14;
    pub const DELETE_IF_NOT_RESCHEDULED: usize = 15;
    pub const STOP_AFTER: usize = 16;
    pub const SCHEDULE: usize = 17;
    pub const SCHEDULE_TYPE: usize = 18;
    pub const START_TIME: usize = 19;
    pub const START_DATE: usize = 20;
    pub const END_DATE: usize = 21;
    pub const DAYS: usize = 22;
    pub const MONTHS: usize = 23;
    pub const REPEAT_EVERY: usize = 24;
    pub const REPEAT_UNTIL_TIME: usize = 25;
    pub const REPEAT_UNTIL_DURATION: usize = 26;
    pub const REPEAT_STOP_IF_RUNNING: usize = 27;
}

/// One 28-column row (one trigger of one task). The values share one string (a query of
/// 10,000 tasks holds tens of thousands of rows: one allocation each, not 28).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    text: String,
    /// Where each value ends in `text` (it starts where the previous one ends).
    ends: [u32; COLUMNS],
}

impl Row {
    /// A row of exactly [`COLUMNS`] values, or `None`.
    pub fn new<S: AsRef<str>>(fields: &[S]) -> Option<Row> {
        if fields.len() != COLUMNS {
            return None;
        }
        let mut text = String::with_capacity(fields.iter().map(|f| f.as_ref().len()).sum());
        let mut ends = [0u32; COLUMNS];
        for (end, f) in ends.iter_mut().zip(fields) {
            text.push_str(f.as_ref());
            *end = u32::try_from(text.len()).ok()?;
        }
        Some(Row { text, ends })
    }

    /// The values, in column order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        (0..COLUMNS).map(|c| self.get(c))
    }

    /// The value of a column (see [`col`]).
    pub fn get(&self, column: usize) -> &str {
        let Some(&end) = self.ends.get(column) else { return "" };
        let start = if column == 0 { 0 } else { self.ends[column - 1] };
        &self.text[start as usize..end as usize]
    }

    /// The full task path (`\folder\name`).
    pub fn task_name(&self) -> &str {
        self.get(col::TASK_NAME)
    }

    /// `Last Result` as a signed number (schtasks prints a signed 32-bit decimal).
    pub fn last_result(&self) -> Option<i64> {
        self.get(col::LAST_RESULT).trim().parse().ok()
    }

    /// Whether the task is enabled, decided without knowing the display language: orc's own
    /// tasks never set "run only if idle" nor "delete if not rescheduled", so the `Idle Time`
    /// and `Delete Task If Not Rescheduled` columns hold the localized word for *Disabled*;
    /// the task is disabled exactly when `Scheduled Task State` shows that same word.
    pub fn enabled(&self) -> bool {
        let state = self.get(col::SCHEDULED_TASK_STATE).trim();
        let idle = self.get(col::IDLE_TIME).trim();
        let delete = self.get(col::DELETE_IF_NOT_RESCHEDULED).trim();
        !(state.is_empty() || state == idle || state == delete)
    }
}

/// The result of parsing one query's output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub rows: Vec<Row>,
    /// Records that could not be split into 28 columns (raw text, first 200 characters).
    pub skipped: Vec<String>,
}

/// Lines a record may span before the parser gives up on it (a multi-line Comment).
const MAX_RECORD_LINES: usize = 400;

/// Columns before the first free-text one (HostName … Last Result): Windows writes them
/// itself and none can hold a quote, a separator or a line break.
const FIXED_HEAD: usize = col::AUTHOR;

/// Parses the output of `schtasks /Query /FO CSV /V [/NH]`.
///
/// Record boundaries cannot be forged from field contents by a line break: once a record has
/// reached its free-text columns (Author, Task To Run, Start In, Comment — the only ones a
/// task's owner writes), a line break is inside a field, whatever the next line looks like
/// (a foreign task's Description holding CR/LF and a well-formed row for one of orc's tasks
/// stays in that task's Comment). A record cut inside its fixed head (no real output does
/// that) is given up and the next line is read afresh.
pub fn parse(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut record: Option<(String, usize)> = None;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match record.as_mut() {
            None => {
                if !starts_record(line) {
                    if line.starts_with('"') {
                        out.skipped.push(line.chars().take(200).collect());
                    }
                    continue; // blank line, "INFO: …", "Folder: …" (LIST/TABLE leftovers)
                }
                record = Some((line.to_string(), 1));
            }
            Some((buf, lines)) => {
                if buf.matches("\",\"").count() < FIXED_HEAD {
                    // The line ended inside the fixed head: the record was truncated.
                    out.skipped.push(buf.chars().take(200).collect());
                    if starts_record(line) {
                        *buf = line.to_string();
                        *lines = 1;
                    } else {
                        record = None;
                    }
                } else {
                    buf.push('\n');
                    buf.push_str(line);
                    *lines += 1;
                }
            }
        }
        let complete = record.as_ref().is_some_and(|(buf, _)| is_complete(buf));
        let too_long = record.as_ref().is_some_and(|(_, n)| *n >= MAX_RECORD_LINES);
        if complete || too_long {
            let (buf, _) = record.take().expect("checked above");
            push_record(&mut out, &buf);
        }
    }
    if let Some((buf, _)) = record {
        push_record(&mut out, &buf);
    }
    out
}

/// A record starts with a quoted, non-empty HostName (a header row with its label); a line
/// starting `","` or `""` is the rest of a field, not a record.
fn starts_record(line: &str) -> bool {
    line.starts_with('"') && !line.starts_with("\"\"") && !line.starts_with("\",")
}

fn is_complete(buf: &str) -> bool {
    let trimmed = buf.trim_end();
    trimmed.len() >= 2 && trimmed.ends_with('"') && trimmed.matches("\",\"").count() >= COLUMNS - 1
}

fn push_record(out: &mut Parsed, buf: &str) {
    match split_record(buf) {
        Some(row) => {
            // Header rows (repeated per folder without /NH, localized): TaskName is a label.
            if row.task_name().starts_with('\\') {
                out.rows.push(row);
            }
        }
        None => {
            if !buf.trim().is_empty() {
                out.skipped.push(buf.chars().take(200).collect());
            }
        }
    }
}

/// Splits one record into exactly 28 fields, or `None`.
fn split_record(buf: &str) -> Option<Row> {
    let t = buf.trim_end();
    let inner = t.strip_prefix('"')?.strip_suffix('"')?;
    let pieces: Vec<&str> = inner.split("\",\"").collect();
    if pieces.len() == COLUMNS {
        return Row::new(&pieces);
    }
    if pieces.len() < COLUMNS {
        return None;
    }
    // A free-text value contains `","`: anchor both ends, give the surplus to Comment.
    const LEFT: usize = col::AUTHOR; // HostName … Last Result
    const RIGHT: usize = COLUMNS - col::SCHEDULED_TASK_STATE; // Scheduled Task State … end
    let n = pieces.len();
    let middle = &pieces[LEFT..n - RIGHT];
    let comment = middle[3..].join("\",\"");
    let mut fields: Vec<&str> = pieces[..LEFT].to_vec();
    fields.extend_from_slice(&middle[..3]); // Author, Task To Run, Start In
    fields.push(&comment);
    fields.extend_from_slice(&pieces[n - RIGHT..]);
    debug_assert_eq!(fields.len(), COLUMNS);
    Row::new(&fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#""HostName","TaskName","Next Run Time","Status","Logon Mode","Last Run Time","Last Result","Author","Task To Run","Start In","Comment","Scheduled Task State","Idle Time","Power Management","Run As User","Delete Task If Not Rescheduled","Stop Task If Runs X Hours and X Mins","Schedule","Schedule Type","Start Time","Start Date","End Date","Days","Months","Repeat: Every","Repeat: Until: Time","Repeat: Until: Duration","Repeat: Stop If Still Running""#;

    /// docs/design/schtasks.md §2.5, brianary/scripts capture: doubled header, unescaped quotes.
    const B1: &str = concat!(
        "\r\n",
        r#""SOURCECOMPUTER","\Update Everything","N/A","Ready","Interactive only","1999-11-30 00:00:00","267011","SOURCECOMPUTER\zaphodb",""C:\Program Files\PowerShell\7\pwsh.exe" -File Update-Everything.ps1","A:\Scripts","Installs updates.","Enabled","Disabled","Stop On Battery Mode, No Start On Batteries","zaphodb","Disabled","72:00:00","Scheduling data is not available in this format.","At logon time","N/A","N/A","N/A","N/A","N/A","N/A","N/A","N/A","N/A""#,
        "\r\n",
        r#""HostName","TaskName","Next Run Time","Status","Logon Mode","Last Run Time","Last Result","Author","Task To Run","Start In","Comment","Scheduled Task State","Idle Time","Power Management","Run As User","Delete Task If Not Rescheduled","Stop Task If Runs X Hours and X Mins","Schedule","Schedule Type","Start Time","Start Date","End Date","Days","Months","Repeat: Every","Repeat: Until: Time","Repeat: Until: Duration","Repeat: Stop If Still Running""#,
        "\r\n",
        r#""HostName","TaskName","Next Run Time","Status","Logon Mode","Last Run Time","Last Result","Author","Task To Run","Start In","Comment","Scheduled Task State","Idle Time","Power Management","Run As User","Delete Task If Not Rescheduled","Stop Task If Runs X Hours and X Mins","Schedule","Schedule Type","Start Time","Start Date","End Date","Days","Months","Repeat: Every","Repeat: Until: Time","Repeat: Until: Duration","Repeat: Stop If Still Running""#,
        "\r\n",
        r#""SOURCECOMPUTER","\PowerToys\Autorun for zaphodb","N/A","Ready","Interactive only","1999-11-30 00:00:00","267011","SOURCECOMPUTER\zaphodb","C:\Program Files\PowerToys\PowerToys.exe ","N/A","N/A","Enabled","Disabled","","zaphodb","Disabled","Disabled","Scheduling data is not available in this format.","At logon time","N/A","N/A","N/A","N/A","N/A","N/A","N/A","N/A","N/A""#,
        "\r\n",
    );

    /// docs/design/schtasks.md §2.5, resticprofile capture: one task with two triggers, signed result.
    const R1: &str = concat!(
        r#""WIN-7060","\resticprofile backup\self backup","13/02/2025 17:30:00","Ready","Interactive only","13/02/2025 17:15:00","-2147024894","resticprofile","R:\Temp\go-build4112622634\b001\exe\resticprofile.exe --no-ansi --config examples\windows.yaml run-schedule backup@self","M:\go\src\github.com\creativeprojects\resticprofile","resticprofile backup for profile self in examples\windows.yaml","Enabled","Disabled","Stop On Battery Mode, No Start On Batteries","user","Disabled","72:00:00","Scheduling data is not available in this format.","Weekly","17:15:00","13/02/2025","N/A","MON, TUE, WED, THU, FRI","Every 1 week(s)","0 Hour(s), 15 Minute(s)","None","23 Hour(s), 45 Minute(s)","Disabled""#,
        "\r\n",
        r#""WIN-7060","\resticprofile backup\self backup","13/02/2025 17:30:00","Ready","Interactive only","13/02/2025 17:15:00","-2147024894","resticprofile","R:\Temp\go-build4112622634\b001\exe\resticprofile.exe --no-ansi --config examples\windows.yaml run-schedule backup@self","M:\go\src\github.com\creativeprojects\resticprofile","resticprofile backup for profile self in examples\windows.yaml","Enabled","Disabled","Stop On Battery Mode, No Start On Batteries","user","Disabled","72:00:00","Scheduling data is not available in this format.","Weekly","00:00:00","15/02/2025","N/A","SUN, SAT","Every 1 week(s)","12 Hour(s), 0 Minute(s)","None","12 Hour(s), 0 Minute(s)","Disabled""#,
        "\r\n",
    );

    fn row(fields: &[&str]) -> String {
        format!("\"{}\"", fields.join("\",\""))
    }

    fn orc_row(name: &str, comment: &str, state: &str, idle: &str) -> String {
        let mut f = vec![
            "HOST",
            name,
            "N/A",
            "Ready",
            "Interactive only",
            "30/11/1999 00:00:00",
            "267011",
            "orc",
            "C:\\orc\\orc.exe --home \"C:\\ProgramData\\orc\" execute --task x --scheduled",
            "C:\\work",
            comment,
            state,
            idle,
            "",
            "user",
            idle,
            "02:10:00",
            "Scheduling data is not available in this format.",
            "Daily ",
            "02:00:00",
            "01/01/2024",
            "N/A",
            "Every 1 day(s)",
            "N/A",
            "Disabled",
            "Disabled",
            "Disabled",
            "Disabled",
        ];
        f.truncate(COLUMNS);
        row(&f)
    }

    #[test]
    fn brianary_sample_with_doubled_header_and_unescaped_quotes() {
        let p = parse(B1);
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
        assert_eq!(p.rows.len(), 2);
        let a = &p.rows[0];
        assert_eq!(a.task_name(), "\\Update Everything");
        assert_eq!(
            a.get(col::TASK_TO_RUN),
            "\"C:\\Program Files\\PowerShell\\7\\pwsh.exe\" -File Update-Everything.ps1"
        );
        assert_eq!(a.get(col::START_IN), "A:\\Scripts");
        assert_eq!(a.get(col::COMMENT), "Installs updates.");
        assert_eq!(a.last_result(), Some(267_011));
        assert!(a.enabled());
        let b = &p.rows[1];
        assert_eq!(b.task_name(), "\\PowerToys\\Autorun for zaphodb");
        assert_eq!(b.get(col::POWER_MANAGEMENT), "");
        assert_eq!(b.get(col::REPEAT_STOP_IF_RUNNING), "N/A");
    }

    #[test]
    fn resticprofile_sample_two_trigger_rows() {
        let p = parse(R1);
        assert_eq!(p.rows.len(), 2);
        assert!(p.rows.iter().all(|r| r.task_name() == "\\resticprofile backup\\self backup"));
        assert_eq!(p.rows[0].last_result(), Some(-2_147_024_894));
        assert_eq!(p.rows[1].get(col::DAYS), "SUN, SAT");
        assert_eq!(p.rows[1].get(col::REPEAT_UNTIL_DURATION), "12 Hour(s), 0 Minute(s)");
    }

    #[test]
    fn header_only_and_info_lines_give_no_rows() {
        let text = format!(
            "\r\n{HEADER}\r\nINFO: There are no scheduled tasks presently available at your access level.\r\n\r\n"
        );
        let p = parse(&text);
        assert!(p.rows.is_empty());
        assert!(p.skipped.is_empty());
    }

    #[test]
    fn french_header_and_words_are_handled_by_position() {
        let fr_header = r#""Nom de l'hôte","Nom de la tâche","Prochaine exécution","Statut","Mode d'ouverture de session","Heure de la dernière exécution","Dernier résultat","Auteur","Tâche à exécuter","Démarrer dans","Commentaire","État de la tâche planifiée","Temps d'inactivité","Gestion de l'alimentation","Exécuter en tant qu'utilisateur","Supprimer la tâche si elle n'est pas replanifiée","Arrêter la tâche si elle s'exécute X heures et X minutes","Planification","Type de planification","Heure de début","Date de début","Date de fin","Jours","Mois","Répéter : chaque","Répéter : jusqu'à : heure","Répéter : jusqu'à : durée","Répéter : arrêter si toujours en cours d'exécution""#;
        let text = format!(
            "\r\n{fr_header}\r\n{}\r\n{}\r\n",
            orc_row(
                "\\Orchestrator\\Orc_a",
                "Sauvegarde\norc-hash: 0123456789abcdef",
                "Activé",
                "Désactivé"
            ),
            orc_row(
                "\\Orchestrator\\Orc_b",
                "orc-hash: 0123456789abcdef",
                "Désactivé",
                "Désactivé"
            ),
        );
        let p = parse(&text);
        assert_eq!(p.rows.len(), 2, "{p:?}");
        assert!(p.rows[0].enabled());
        assert!(!p.rows[1].enabled());
        assert_eq!(p.rows[0].get(col::COMMENT), "Sauvegarde\norc-hash: 0123456789abcdef");
    }

    #[test]
    fn description_with_quotes_separators_and_line_breaks() {
        let comment = "He said \"hi\",\"there\"\r\nsecond line\", with \"quotes\"\norc-hash: 00112233aabbccdd";
        let text = format!(
            "{}\r\n{}\r\n",
            orc_row("\\Orchestrator\\Orc_q", comment, "Enabled", "Disabled"),
            orc_row("\\Orchestrator\\Orc_r", "plain", "Enabled", "Disabled"),
        );
        let p = parse(&text);
        assert_eq!(p.rows.len(), 2, "{p:?}");
        let q = &p.rows[0];
        assert_eq!(q.get(col::COMMENT), comment.replace("\r\n", "\n"));
        assert_eq!(q.get(col::START_IN), "C:\\work");
        assert_eq!(q.get(col::SCHEDULED_TASK_STATE), "Enabled");
        assert_eq!(q.get(col::SCHEDULE_TYPE), "Daily ");
        assert_eq!(p.rows[1].task_name(), "\\Orchestrator\\Orc_r");
    }

    #[test]
    fn broken_records_are_skipped_without_losing_the_next() {
        let text = format!(
            "\"HOST\",\"\\truncated\",\"N/A\"\r\n\r\n{}\r\n",
            orc_row("\\Orchestrator\\Orc_ok", "c", "Enabled", "Disabled")
        );
        let p = parse(&text);
        assert_eq!(p.rows.len(), 1, "{p:?}");
        assert_eq!(p.rows[0].task_name(), "\\Orchestrator\\Orc_ok");
        assert_eq!(p.skipped.len(), 1);
        let text = format!(
            "{}\r\n\"HOST\",\"\\truncated\"\r\n",
            orc_row("\\Orchestrator\\Orc_ok", "c", "Enabled", "Disabled")
        );
        let p = parse(&text);
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn lf_only_and_missing_final_newline() {
        let text = orc_row("\\Orchestrator\\Orc_a", "x", "Enabled", "Disabled");
        assert_eq!(parse(&text).rows.len(), 1);
        let text =
            format!("\n{}\n{}", text, orc_row("\\Orchestrator\\Orc_b", "y", "Enabled", "Disabled"));
        assert_eq!(parse(&text).rows.len(), 2);
    }

    /// issue 12 finding 4: a foreign task's Description with CR/LF and a well-formed row.
    #[test]
    fn a_row_inside_a_foreign_description_is_not_a_record() {
        let victim = orc_row(
            "\\Orchestrator\\Orc_victim",
            "orc-hash: 0123456789abcdef",
            "Enabled",
            "Disabled",
        );
        let next = orc_row("\\Orchestrator\\Orc_other", "plain", "Enabled", "Disabled");
        for tail in ["", "\r\n", "\r\n\r\n"] {
            let evil =
                orc_row("\\Evil", &format!("Nightly\r\n{victim}{tail}"), "Enabled", "Disabled");
            let text = format!("\r\n{HEADER}\r\n{evil}\r\n{next}\r\n");
            let p = parse(&text);
            let names: Vec<&str> = p.rows.iter().map(|r| r.task_name()).collect();
            if tail.is_empty() {
                assert_eq!(names, ["\\Evil", "\\Orchestrator\\Orc_other"], "{p:#?}");
                assert!(p.rows[0].get(col::COMMENT).contains("Orc_victim"));
                assert_eq!(p.rows[0].get(col::SCHEDULED_TASK_STATE), "Enabled");
                assert!(p.skipped.is_empty(), "{p:#?}");
            } else {
                // The forged row ends the foreign record early (its own 17 trailing columns):
                // still not a row of its own, and the rest of the foreign record is skipped
                // without swallowing the next real record.
                assert_eq!(names, ["\\Evil", "\\Orchestrator\\Orc_other"], "{tail:?}: {p:#?}");
                assert!(p.rows[0].get(col::COMMENT).contains("Orc_victim"));
                assert_eq!(p.skipped.len(), 1, "{p:#?}");
            }
            assert_eq!(p.rows[1].get(col::COMMENT), "plain");
        }
    }

    #[test]
    fn never_panics_on_garbage() {
        for s in [
            "",
            "\"",
            "\"\"",
            "\",\"",
            "\"a\",\"b",
            "\u{0}\u{1}\"",
            &"\",\"".repeat(100),
            "\r\r\n\n",
        ] {
            let _ = parse(s);
        }
    }
}

#[cfg(test)]
mod fuzz;
