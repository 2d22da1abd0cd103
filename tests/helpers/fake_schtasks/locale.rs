//! Localised words, labels, messages and date formats (en-US and fr-FR), plus the
//! code page 850 encoder.
//!
//! French: the reference (§2.8) gives the CSV headers `Nom de l'hôte`, `Nom de la tâche`,
//! `Prochaine exécution`, `Statut`, `Mode d'ouverture de session`,
//! `Heure de la dernière exécution`, `Dernier résultat`, `Auteur`, `Tâche à exécuter` and the
//! status `En cours d'exécution`. Everything else French in this file is a plausible
//! translation chosen for the fake ([U]); each such string is marked `// [U]`.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Locale {
    EnUs,
    FrFr,
}

/// The 28 verbose column names / LIST labels, in the real order (§2.5).
pub(crate) const FIELDS_EN: [&str; 28] = [
    "HostName",
    "TaskName",
    "Next Run Time",
    "Status",
    "Logon Mode",
    "Last Run Time",
    "Last Result",
    "Author",
    "Task To Run",
    "Start In",
    "Comment",
    "Scheduled Task State",
    "Idle Time",
    "Power Management",
    "Run As User",
    "Delete Task If Not Rescheduled",
    "Stop Task If Runs X Hours and X Mins",
    "Schedule",
    "Schedule Type",
    "Start Time",
    "Start Date",
    "End Date",
    "Days",
    "Months",
    "Repeat: Every",
    "Repeat: Until: Time",
    "Repeat: Until: Duration",
    "Repeat: Stop If Still Running",
];

pub(crate) const FIELDS_FR: [&str; 28] = [
    "Nom de l'hôte",
    "Nom de la tâche",
    "Prochaine exécution",
    "Statut",
    "Mode d'ouverture de session",
    "Heure de la dernière exécution",
    "Dernier résultat",
    "Auteur",
    "Tâche à exécuter",
    "Démarrer dans",                                            // [U]
    "Commentaire",                                              // [U]
    "État de la tâche planifiée",                               // [U]
    "Temps d'inactivité",                                       // [U]
    "Gestion de l'alimentation",                                // [U]
    "Exécuter en tant qu'utilisateur",                          // [U]
    "Supprimer la tâche si elle n'est pas replanifiée",         // [U]
    "Arrêter la tâche si elle s'exécute X heures et X minutes", // [U]
    "Planification",                                            // [U]
    "Type de planification",                                    // [U]
    "Heure de début",                                           // [U]
    "Date de début",                                            // [U]
    "Date de fin",                                              // [U]
    "Jours",                                                    // [U]
    "Mois",                                                     // [U]
    "Répéter : chaque",                                         // [U]
    "Répéter : jusqu'à : heure",                                // [U]
    "Répéter : jusqu'à : durée",                                // [U]
    "Répéter : arrêter si toujours en cours d'exécution",       // [U]
];

/// Words that appear as values in `/Query` output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum W {
    NA,
    Ready,
    Running,
    Disabled,
    Enabled,
    InteractiveOnly,
    InteractiveBackground,
    BackgroundOnly,
    SchedulingNotAvailable,
    NoneWord,
    OnDemandOnly,
    OneTimeOnly,
    OneTimeOnlyMinute,
    OneTimeOnlyHourly,
    Daily,
    Weekly,
    Monthly,
    AtStartup,
    AtLogon,
    AtIdle,
    OnEvent,
    Undefined,
    EveryMonth,
    ComHandler,
    SendEmail,
    ShowMessage,
    MultipleActions,
    PowerBoth,
    PowerStop,
    PowerNoStart,
    System,
    LocalService,
    NetworkService,
    Folder,
}

impl Locale {
    pub(crate) fn fields(self) -> &'static [&'static str; 28] {
        match self {
            Locale::EnUs => &FIELDS_EN,
            Locale::FrFr => &FIELDS_FR,
        }
    }

    /// Short date: en-US `M/d/yyyy`, fr-FR `dd/MM/yyyy`.
    pub(crate) fn date(self, d: NaiveDate) -> String {
        match self {
            Locale::EnUs => format!("{}/{}/{:04}", d.month(), d.day(), d.year()),
            Locale::FrFr => format!("{:02}/{:02}/{:04}", d.day(), d.month(), d.year()),
        }
    }

    /// Long time: en-US `h:mm:ss tt`, fr-FR `HH:mm:ss`.
    pub(crate) fn time(self, t: NaiveTime) -> String {
        match self {
            Locale::EnUs => {
                let (pm, h12) = t.hour12();
                let ampm = if pm { "PM" } else { "AM" };
                format!("{}:{:02}:{:02} {}", h12, t.minute(), t.second(), ampm)
            }
            Locale::FrFr => format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
        }
    }

    pub(crate) fn datetime(self, dt: NaiveDateTime) -> String {
        format!("{} {}", self.date(dt.date()), self.time(dt.time()))
    }

    /// The short-date pattern as the help text and `/SD` errors spell it.
    pub(crate) fn date_pattern(self) -> &'static str {
        match self {
            Locale::EnUs => "mm/dd/yyyy",
            Locale::FrFr => "dd/mm/yyyy",
        }
    }

    /// Parses `/SD` / `/ED` in the locale's short-date order (1 or 2 digit day/month).
    pub(crate) fn parse_date(self, s: &str) -> Option<NaiveDate> {
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() != 3 {
            return None;
        }
        let ok = |p: &str, max: usize| {
            !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit())
        };
        if !ok(parts[0], 2) || !ok(parts[1], 2) || parts[2].len() != 4 || !ok(parts[2], 4) {
            return None;
        }
        let a: u32 = parts[0].parse().ok()?;
        let b: u32 = parts[1].parse().ok()?;
        let y: i32 = parts[2].parse().ok()?;
        let (m, d) = match self {
            Locale::EnUs => (a, b),
            Locale::FrFr => (b, a),
        };
        NaiveDate::from_ymd_opt(y, m, d)
    }

    pub(crate) fn w(self, w: W) -> &'static str {
        let fr = self == Locale::FrFr;
        match w {
            W::NA => "N/A",
            W::Ready => {
                if fr {
                    "Prêt" // [U]
                } else {
                    "Ready"
                }
            }
            W::Running => {
                if fr {
                    "En cours d'exécution"
                } else {
                    "Running"
                }
            }
            W::Disabled => {
                if fr {
                    "Désactivé" // [U]
                } else {
                    "Disabled"
                }
            }
            W::Enabled => {
                if fr {
                    "Activé" // [U]
                } else {
                    "Enabled"
                }
            }
            W::InteractiveOnly => {
                if fr {
                    "Interactif uniquement" // [U]
                } else {
                    "Interactive only"
                }
            }
            W::InteractiveBackground => {
                if fr {
                    "Interactif/Arrière-plan" // [U]
                } else {
                    "Interactive/Background"
                }
            }
            W::BackgroundOnly => {
                if fr {
                    "Arrière-plan uniquement" // [U]
                } else {
                    "Background only"
                }
            }
            W::SchedulingNotAvailable => {
                if fr {
                    "Les données de planification ne sont pas disponibles dans ce format." // [U]
                } else {
                    "Scheduling data is not available in this format."
                }
            }
            W::NoneWord => {
                if fr {
                    "Aucun" // [U]
                } else {
                    "None"
                }
            }
            W::OnDemandOnly => {
                if fr {
                    "À la demande uniquement" // [U]
                } else {
                    "On demand only"
                }
            }
            W::OneTimeOnly => {
                if fr {
                    "Une seule fois" // [U]
                } else {
                    "One Time Only"
                }
            }
            W::OneTimeOnlyMinute => {
                if fr {
                    "Une seule fois, Minute " // [U]
                } else {
                    "One Time Only, Minute "
                }
            }
            W::OneTimeOnlyHourly => {
                if fr {
                    "Une seule fois, Toutes les heures " // [U]
                } else {
                    "One Time Only, Hourly "
                }
            }
            W::Daily => {
                if fr {
                    "Quotidienne " // [U]
                } else {
                    "Daily "
                }
            }
            W::Weekly => {
                if fr {
                    "Hebdomadaire" // [U]
                } else {
                    "Weekly"
                }
            }
            W::Monthly => {
                if fr {
                    "Mensuelle" // [U]
                } else {
                    "Monthly"
                }
            }
            W::AtStartup => {
                if fr {
                    "Au démarrage du système" // [U]
                } else {
                    "At system start up"
                }
            }
            W::AtLogon => {
                if fr {
                    "À l'ouverture de session" // [U]
                } else {
                    "At logon time"
                }
            }
            W::AtIdle => {
                if fr {
                    "En cas d'inactivité" // [U]
                } else {
                    "At idle time"
                }
            }
            W::OnEvent => {
                if fr {
                    "Lorsqu'un événement se produit" // [U]
                } else {
                    "When an event occurs"
                }
            }
            W::Undefined => {
                if fr {
                    "Non défini" // [U]
                } else {
                    "Undefined"
                }
            }
            W::EveryMonth => {
                if fr {
                    "Tous les mois" // [U]
                } else {
                    "Every month"
                }
            }
            W::ComHandler => {
                if fr {
                    "Gestionnaire COM" // [U]
                } else {
                    "COM handler"
                }
            }
            W::SendEmail => {
                if fr {
                    "Envoyer un message électronique" // [U]
                } else {
                    "Send an e-mail" // [U]
                }
            }
            W::ShowMessage => {
                if fr {
                    "Afficher un message" // [U]
                } else {
                    "Display a message" // [U]
                }
            }
            W::MultipleActions => {
                if fr {
                    "Plusieurs actions" // [U]
                } else {
                    "Multiple actions" // [U]
                }
            }
            W::PowerBoth => {
                if fr {
                    "Arrêter en mode batterie, Ne pas démarrer sur batterie" // [U]
                } else {
                    "Stop On Battery Mode, No Start On Batteries"
                }
            }
            W::PowerStop => {
                if fr {
                    "Arrêter en mode batterie" // [U]
                } else {
                    "Stop On Battery Mode"
                }
            }
            W::PowerNoStart => {
                if fr {
                    "Ne pas démarrer sur batterie" // [U]
                } else {
                    "No Start On Batteries"
                }
            }
            W::System => {
                if fr {
                    "Système" // [U] (the French name of the SYSTEM account)
                } else {
                    "SYSTEM"
                }
            }
            W::LocalService => {
                if fr {
                    "SERVICE LOCAL" // [U]
                } else {
                    "LOCAL SERVICE"
                }
            }
            W::NetworkService => {
                if fr {
                    "SERVICE RÉSEAU" // [U]
                } else {
                    "NETWORK SERVICE"
                }
            }
            W::Folder => {
                if fr {
                    "Dossier" // [U]
                } else {
                    "Folder"
                }
            }
        }
    }

    /// `Days` for a daily trigger: `Every 1 day(s)`.
    pub(crate) fn every_days(self, n: i64) -> String {
        match self {
            Locale::EnUs => format!("Every {n} day(s)"),
            Locale::FrFr => format!("Tous les {n} jour(s)"), // [U]
        }
    }

    /// `Months` for a weekly trigger: `Every 1 week(s)`.
    pub(crate) fn every_weeks(self, n: i64) -> String {
        match self {
            Locale::EnUs => format!("Every {n} week(s)"),
            Locale::FrFr => format!("Toutes les {n} semaine(s)"), // [U]
        }
    }

    /// `0 Hour(s), 30 Minute(s)`.
    pub(crate) fn hours_minutes(self, h: i64, m: i64) -> String {
        match self {
            Locale::EnUs => format!("{h} Hour(s), {m} Minute(s)"),
            Locale::FrFr => format!("{h} heure(s), {m} minute(s)"), // [U]
        }
    }

    /// `Idle Time` when RunOnlyIfIdle is set.
    pub(crate) fn idle(self, wait_min: i64, retry_min: i64) -> String {
        match self {
            Locale::EnUs => format!(
                "Only Start If Idle for {wait_min} minutes, If Not Idle Retry For {retry_min} minutes"
            ),
            Locale::FrFr => format!(
                // [U]
                "Démarrer uniquement si inactif pendant {wait_min} minutes, sinon réessayer pendant {retry_min} minutes"
            ),
        }
    }

    /// Day-of-week abbreviations, Sunday first (index = days from Sunday).
    pub(crate) fn day_abbrev(self, idx: usize) -> &'static str {
        const EN: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
        const FR: [&str; 7] = ["DIM", "LUN", "MAR", "MER", "JEU", "VEN", "SAM"]; // [U]
        match self {
            Locale::EnUs => EN[idx],
            Locale::FrFr => FR[idx],
        }
    }

    /// Month abbreviations, January first.
    pub(crate) fn month_abbrev(self, idx: usize) -> &'static str {
        const EN: [&str; 12] =
            ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
        const FR: [&str; 12] = [
            "JANV", "FÉVR", "MARS", "AVR", "MAI", "JUIN", "JUIL", "AOÛT", "SEPT", "OCT", "NOV",
            "DÉC",
        ]; // [U]
        match self {
            Locale::EnUs => EN[idx],
            Locale::FrFr => FR[idx],
        }
    }
}

/// Messages. English texts are the ones of the reference (§1.6, §2, §3.2, §4.9);
/// French ones are [U] unless they are the standard Win32 system messages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tr(pub(crate) Locale);

impl Tr {
    fn fr(self) -> bool {
        self.0 == Locale::FrFr
    }

    pub(crate) fn error(self, body: &str) -> String {
        if self.fr() { format!("ERREUR : {body}") } else { format!("ERROR: {body}") }
    }

    fn success(self, en: String, fr: String) -> String {
        if self.fr() {
            format!("Opération réussie : {fr}") // [U]
        } else {
            format!("SUCCESS: {en}")
        }
    }

    fn info(self, en: &str, fr: &str) -> String {
        if self.fr() { format!("INFO : {fr}") } else { format!("INFO: {en}") }
    }

    pub(crate) fn created(self, tn: &str) -> String {
        self.success(
            format!("The scheduled task \"{tn}\" has successfully been created."),
            format!("la tâche planifiée \"{tn}\" a bien été créée."), // [U]
        )
    }

    pub(crate) fn deleted(self, tn: &str) -> String {
        self.success(
            format!("The scheduled task \"{tn}\" was successfully deleted."),
            format!("la tâche planifiée \"{tn}\" a bien été supprimée."), // [U]
        )
    }

    pub(crate) fn changed(self, tn: &str) -> String {
        self.success(
            format!("The parameters of scheduled task \"{tn}\" have been changed."),
            format!("les paramètres de la tâche planifiée \"{tn}\" ont été modifiés."), // [U]
        )
    }

    pub(crate) fn run_attempted(self, tn: &str) -> String {
        self.success(
            format!("Attempted to run the scheduled task \"{tn}\"."),
            format!("tentative d'exécution de la tâche planifiée \"{tn}\"."), // [U]
        )
    }

    pub(crate) fn terminated(self, tn: &str) -> String {
        self.success(
            format!("The scheduled task \"{tn}\" has been terminated successfully."),
            format!("la tâche planifiée \"{tn}\" a bien été arrêtée."), // [U]
        )
    }

    pub(crate) fn already_running(self, tn: &str) -> String {
        self.info(
            &format!("scheduled task \"{tn}\" is currently running."),
            &format!("la tâche planifiée \"{tn}\" est en cours d'exécution."), // [U]
        )
    }

    /// [U] the reference elides the exact text (§3.2, §8).
    pub(crate) fn already_enabled(self, tn: &str, enable: bool) -> String {
        if enable {
            self.info(
                &format!("The scheduled task \"{tn}\" has already been enabled."),
                &format!("la tâche planifiée \"{tn}\" est déjà activée."),
            )
        } else {
            self.info(
                &format!("The scheduled task \"{tn}\" has already been disabled."),
                &format!("la tâche planifiée \"{tn}\" est déjà désactivée."),
            )
        }
    }

    pub(crate) fn no_tasks(self) -> String {
        self.info(
            "There are no scheduled tasks presently available at your access level.",
            "il n'existe actuellement aucune tâche planifiée disponible à votre niveau d'accès.", // [U]
        )
    }

    pub(crate) fn file_not_found(self) -> String {
        if self.fr() {
            self.error("Le fichier spécifié est introuvable.")
        } else {
            self.error("The system cannot find the file specified.")
        }
    }

    pub(crate) fn path_not_found(self) -> String {
        if self.fr() {
            self.error("Le chemin d'accès spécifié est introuvable.")
        } else {
            self.error("The system cannot find the path specified.")
        }
    }

    pub(crate) fn name_not_found(self, tn: &str) -> String {
        if self.fr() {
            self.error(&format!("Le nom de tâche spécifié \"{tn}\" n'existe pas dans le système.")) // [U]
        } else {
            self.error(&format!("The specified task name \"{tn}\" does not exist in the system."))
        }
    }

    pub(crate) fn access_denied(self) -> String {
        if self.fr() { self.error("Accès refusé.") } else { self.error("Access is denied.") }
    }

    pub(crate) fn disabled(self, tn: &str) -> String {
        if self.fr() {
            // [U]
            self.error(&format!(
                "La tâche planifiée \"{tn}\" n'a pas pu s'exécuter, car elle est désactivée."
            ))
        } else {
            self.error(&format!(
                "The scheduled task \"{tn}\" could not run because it is disabled."
            ))
        }
    }

    pub(crate) fn service_not_running(self) -> String {
        if self.fr() {
            self.error("Le service Planificateur de tâches n'est pas en cours d'exécution.") // [U]
        } else {
            self.error("The Task Scheduler Service is not running.")
        }
    }

    pub(crate) fn rpc_unavailable(self) -> String {
        if self.fr() {
            self.error("Le serveur RPC n'est pas disponible.")
        } else {
            self.error("The RPC server is unavailable.")
        }
    }

    pub(crate) fn replace_prompt(self, tn: &str) -> String {
        if self.fr() {
            // [U]
            format!(
                "AVERTISSEMENT : le nom de tâche \"{tn}\" existe déjà. Voulez-vous le remplacer (O/N) ? "
            )
        } else {
            format!(
                "WARNING: The task name \"{tn}\" already exists. Do you want to replace it (Y/N)? "
            )
        }
    }

    pub(crate) fn delete_prompt(self, tn: &str) -> String {
        if self.fr() {
            // [U]
            format!("AVERTISSEMENT : voulez-vous vraiment supprimer la tâche \"{tn}\" (O/N) ? ")
        } else {
            format!("WARNING: Are you sure you want to remove the task \"{tn}\" (Y/N)? ")
        }
    }

    /// The letter that means "yes" at a Y/N prompt.
    pub(crate) fn yes_letter(self) -> char {
        if self.fr() { 'o' } else { 'y' }
    }

    pub(crate) fn invalid_argument(self, token: &str) -> String {
        if self.fr() {
            self.error(&format!("argument/option non valide - '{token}'.")) // [U]
        } else {
            self.error(&format!("Invalid argument/option - '{token}'."))
        }
    }

    /// `Type "SCHTASKS /CREATE /?" for usage.`
    pub(crate) fn usage(self, verb_upper: &str) -> String {
        let cmd = if verb_upper.is_empty() {
            "SCHTASKS /?".to_string()
        } else {
            format!("SCHTASKS /{verb_upper} /?")
        };
        if self.fr() {
            format!("Tapez \"{cmd}\" pour afficher la syntaxe.") // [U]
        } else {
            format!("Type \"{cmd}\" for usage.")
        }
    }

    /// First line of a `/Create /XML` rejection (the SCHED_E_* text, §4.9).
    pub(crate) fn sched_error(self, kind: crate::schema::SchedErr) -> String {
        use crate::schema::SchedErr as S;
        let (en, fr) = match kind {
            S::UnexpectedNode => (
                "The task XML contains an unexpected node.",
                "Le XML de la tâche contient un nœud inattendu.", // [U]
            ),
            S::Namespace => (
                "The task XML contains an element or attribute from an unexpected namespace.",
                "Le XML de la tâche contient un élément ou un attribut d'un espace de noms inattendu.", // [U]
            ),
            S::InvalidValue => (
                "The task XML contains a value which is incorrectly formatted or out of range.",
                "Le XML de la tâche contient une valeur au format incorrect ou hors limites.", // [U]
            ),
            S::MissingNode => (
                "The task XML is missing a required element or attribute.",
                "Il manque un élément ou un attribut obligatoire dans le XML de la tâche.", // [U]
            ),
            S::Malformed => ("The task XML is malformed.", "Le XML de la tâche est mal formé."), // [U]
            S::TooMany => (
                "The task XML contains too many nodes of the same type.",
                "Le XML de la tâche contient trop de nœuds du même type.", // [U]
            ),
        };
        if self.fr() { self.error(fr) } else { self.error(en) }
    }
}

/// Encodes text as code page 850; characters outside it become `?` (as WideCharToMultiByte
/// without best-fit would).
pub(crate) fn encode_cp850(s: &str) -> Vec<u8> {
    // Code page 850, bytes 0x80..=0xFF.
    const HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜø£Ø×ƒáíóúñÑªº¿®¬½¼¡«»░▒▓│┤ÁÂÀ©╣║╗╝¢¥┐\
                        └┴┬├─┼ãÃ╚╔╩╦╠═╬¤ðÐÊËÈıÍÎÏ┘┌█▄¦Ì▀ÓßÔÒõÕµþÞÚÛÙýÝ¯´\u{AD}±‗¾¶§÷¸°¨·¹³²■\u{A0}";
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c as u8);
        } else if let Some(i) = HIGH.chars().position(|h| h == c) {
            out.push(0x80 + i as u8);
        } else {
            out.push(b'?');
        }
    }
    out
}

/// Decodes Windows-1252 ("ANSI" on en-US and fr-FR machines), used for BOM-less task XML.
pub(crate) fn decode_cp1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[(b - 0x80) as usize],
            _ => b as char,
        })
        .collect()
}
