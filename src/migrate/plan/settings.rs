//! Settings and secrets: the legacy `config` table → orc settings (through the same rule as
//! `orc config set`), legacy secrets → vault credentials.

use std::collections::BTreeMap;

use super::names::orc_name;
use super::{Existing, SecretPlan, SettingPlan};
use crate::migrate::legacy::LegacyDb;
use crate::task::validate;

/// Legacy `config` → orc settings (secrets are planned separately).
pub fn plan_settings(
    legacy: &BTreeMap<String, String>,
    existing: &BTreeMap<String, String>,
) -> Vec<SettingPlan> {
    let mut out = Vec::new();
    for (k, v) in legacy {
        let v = v.trim();
        let mapped: Result<(&str, String), String> = match k.as_str() {
            "smtp_server" => Ok(("smtp.host", v.to_string())),
            "smtp_port" => match v.parse::<u16>() {
                Ok(p) if p > 0 => Ok(("smtp.port", p.to_string())),
                _ => Err(format!("{v:?} is not a port 1-65535")),
            },
            "smtp_use_tls" => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(("smtp.tls", "starttls".into())),
                "false" | "0" | "no" => {
                    let host = legacy.get("smtp_server").map(String::as_str).unwrap_or("");
                    if crate::notify::smtp::is_loopback(host) {
                        Ok(("smtp.tls", "none".into()))
                    } else {
                        Err(format!(
                            "the legacy tool sent mail unencrypted to {host:?}; orc allows smtp.tls \
                             none only for loopback relays — set smtp.tls yourself"
                        ))
                    }
                }
                _ => Err(format!("{v:?} is not true or false")),
            },
            "smtp_username" => Ok(("smtp.user", v.to_string())),
            "email_from" => Ok(("mail.from", v.to_string())),
            "email_recipients" => serde_json::from_str::<Vec<String>>(v)
                .map_err(|e| format!("not a JSON list of addresses ({e})"))
                .and_then(|list| {
                    for a in &list {
                        validate::check_email(a.trim()).map_err(|e| e.to_string())?;
                    }
                    Ok(("mail.to", list.iter().map(|a| a.trim()).collect::<Vec<_>>().join(",")))
                }),
            "daily_report_time" => match chrono::NaiveTime::parse_from_str(v, "%H:%M") {
                Ok(t) => Ok(("report.daily_time", t.format("%H:%M").to_string())),
                Err(_) => Err(format!("{v:?} is not HH:MM")),
            },
            "check_interval" => {
                Err("orc has no polling loop; Task Scheduler starts each run".into())
            }
            "system_salt" => Err("used only to read the legacy secrets".into()),
            _ => Err("no orc equivalent".into()),
        };
        // The same rule as `orc config set` (one owner): a value it would refuse is refused.
        let mapped = mapped.map(|(key, value)| (key, crate::config::normalize(key, &value)));
        out.push(match mapped {
            Ok((key, Err(e))) => SettingPlan {
                legacy_key: k.clone(),
                key: Some(key.into()),
                value: None,
                action: "refused",
                note: Some(e.to_string()),
            },
            Ok((key, Ok(value))) => {
                let action = match existing.get(key) {
                    None => "set",
                    Some(old) if *old == value => "unchanged",
                    Some(_) => "kept",
                };
                SettingPlan {
                    legacy_key: k.clone(),
                    key: Some(key.into()),
                    note: (action == "kept").then(|| {
                        format!("orc already has {key} = {:?}; not overwritten", existing[key])
                    }),
                    value: Some(value),
                    action,
                }
            }
            Err(note) => SettingPlan {
                legacy_key: k.clone(),
                key: None,
                value: None,
                action: "skip",
                note: Some(note),
            },
        });
    }
    out
}

/// The vault credential name for a legacy secret.
pub fn credential_name(source: &str, name: &str) -> String {
    match (source, name) {
        ("config", "smtp_password") => "smtp-password".into(),
        ("config", other) => orc_name(&format!("legacy-{other}")),
        (_, other) => orc_name(other),
    }
}

/// Legacy secrets → vault credentials; the SMTP password also gives the
/// `smtp.password_credential` setting (added to `settings`).
pub fn plan_secrets(
    legacy: &LegacyDb,
    existing: &Existing,
    secrets_unlocked: bool,
    settings: &mut Vec<SettingPlan>,
) -> Vec<SecretPlan> {
    let mut out = Vec::new();
    for s in &legacy.secrets {
        let credential = credential_name(s.source, &s.name);
        let legacy_label = match s.source {
            "config" => format!("config.{}", s.name),
            _ => format!("credentials.{}", s.name),
        };
        let (action, note) = if secrets_unlocked {
            ("store", None)
        } else {
            ("not_migrated", Some("not migrated: needs the legacy master password".to_string()))
        };
        if s.source == "config" && s.name == "smtp_password" {
            let value = credential.clone();
            settings.push(SettingPlan {
                legacy_key: "smtp_password".into(),
                key: Some("smtp.password_credential".into()),
                action: if !secrets_unlocked {
                    "skip"
                } else if existing.config.get("smtp.password_credential") == Some(&value) {
                    "unchanged"
                } else if existing.config.contains_key("smtp.password_credential") {
                    "kept"
                } else {
                    "set"
                },
                value: Some(value),
                note: (!secrets_unlocked)
                    .then(|| "the SMTP password needs the legacy master password".into()),
            });
        }
        out.push(SecretPlan { legacy: legacy_label, credential, action, note });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_map_and_never_overwrite() {
        let legacy: BTreeMap<String, String> = [
            ("smtp_server", "smtp.example.com"),
            ("smtp_port", "587"),
            ("smtp_use_tls", "true"),
            ("email_recipients", r#"["a@example.com","b@example.com"]"#),
            ("daily_report_time", "7:05"),
            ("check_interval", "30"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let existing: BTreeMap<String, String> =
            [("smtp.port".to_string(), "25".to_string())].into();
        let plan = plan_settings(&legacy, &existing);
        let get = |k: &str| plan.iter().find(|s| s.legacy_key == k).unwrap();
        assert_eq!(get("smtp_server").key.as_deref(), Some("smtp.host"));
        assert_eq!(get("smtp_use_tls").value.as_deref(), Some("starttls"));
        // Normalised as `config set mail.to` writes it.
        assert_eq!(get("email_recipients").value.as_deref(), Some("a@example.com, b@example.com"));
        assert_eq!(get("daily_report_time").value.as_deref(), Some("07:05"));
        assert_eq!(get("smtp_port").action, "kept");
        assert_eq!(get("check_interval").action, "skip");
        // issue 12 finding 10: a value `config set` refuses is refused here too, with its rule.
        let hostile: BTreeMap<String, String> =
            [("smtp_server".to_string(), "evil.example.com\r\nset smtp.tls none".to_string())]
                .into();
        let refused = &plan_settings(&hostile, &BTreeMap::new())[0];
        assert_eq!((refused.action, refused.value.as_deref()), ("refused", None));
        assert!(refused.note.as_deref().unwrap().contains("invalid smtp.host"), "{refused:?}");
        let plain: BTreeMap<String, String> =
            [("smtp_server", "mail.example.com"), ("smtp_use_tls", "false")]
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
        assert_eq!(
            plan_settings(&plain, &BTreeMap::new())
                .iter()
                .find(|s| s.legacy_key == "smtp_use_tls")
                .unwrap()
                .action,
            "skip"
        );
    }
}
