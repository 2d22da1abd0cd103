//! The `channels` table: the only SQL on it.

use crate::store::sql::{OptionalExtension, params};
use serde_json::json;

use crate::error::{Error, Result};
use crate::store::{Store, StoreError, classify, to_db_time};

use super::{BUILTIN_EMAIL, Channel, ChannelView, Kind, UrlSource, check_url, mask_url};

const COLUMNS: &str = "name, kind, url, url_credential, recipients, secret_credential, created_at";

fn from_row(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<(Channel, String)> {
    let kind: String = r.get(1)?;
    let url: Option<String> = r.get(2)?;
    let url_cred: Option<String> = r.get(3)?;
    let to: String = r.get(4)?;
    Ok((
        Channel {
            name: r.get(0)?,
            kind: kind.parse().unwrap_or(Kind::Webhook),
            url: match (url, url_cred) {
                (Some(u), _) => Some(UrlSource::Plain(u)),
                (None, Some(c)) => Some(UrlSource::Credential(c)),
                (None, None) => None,
            },
            to: to.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
            secret: r.get(5)?,
        },
        r.get(6)?,
    ))
}

/// Reads one channel (name case-insensitive).
pub fn read(
    conn: &crate::store::sql::Connection,
    name: &str,
) -> Result<Option<Channel>, StoreError> {
    let path = std::path::PathBuf::from(conn.path().unwrap_or(""));
    conn.query_row(&format!("SELECT {COLUMNS} FROM channels WHERE name = ?1"), [name], from_row)
        .optional()
        .map(|o| o.map(|(c, _)| c))
        .map_err(|e| classify(&path, "read channel", e))
}

/// The shown form of a channel.
pub fn view(c: &Channel, created_at: &str) -> ChannelView {
    let (url, url_credential) = match &c.url {
        Some(UrlSource::Plain(u)) => (Some(mask_url(u)), None),
        Some(UrlSource::Credential(n)) => (None, Some(n.clone())),
        None => (None, None),
    };
    ChannelView {
        name: c.name.clone(),
        kind: c.kind,
        url,
        url_credential,
        to: c.to.clone(),
        secret_credential: c.secret.clone(),
        created_at: crate::store::from_db_time(created_at)
            .map(crate::clock::to_local_iso)
            .unwrap_or_else(|| created_at.to_string()),
    }
}

/// Every channel, by name.
pub fn list(store: &Store) -> Result<Vec<ChannelView>> {
    let mut stmt = store
        .conn()
        .prepare(&format!("SELECT {COLUMNS} FROM channels ORDER BY name COLLATE NOCASE"))
        .map_err(|e| store.err("list channels", e))?;
    let rows = stmt
        .query_map([], from_row)
        .map_err(|e| store.err("list channels", e))?
        .collect::<crate::store::sql::Result<Vec<_>>>()
        .map_err(|e| store.err("list channels", e))?;
    Ok(rows.iter().map(|(c, t)| view(c, t)).collect())
}

/// One channel, shown; an error when it does not exist.
pub fn get(store: &Store, name: &str) -> Result<ChannelView> {
    super::validate_name(name)?;
    let row = store
        .conn()
        .query_row(&format!("SELECT {COLUMNS} FROM channels WHERE name = ?1"), [name], from_row)
        .optional()
        .map_err(|e| store.err("read channel", e))?;
    let (c, t) = row.ok_or_else(|| Error::NotFound { what: "channel", name: name.to_string() })?;
    Ok(view(&c, &t))
}

/// Checks a channel definition against its kind's needs (pure; credentials are checked for
/// existence by [`add`]).
pub fn check(c: &Channel) -> Result<()> {
    super::validate_name(&c.name)?;
    if c.name.eq_ignore_ascii_case(BUILTIN_EMAIL) {
        return Err(Error::invalid(
            "channel name",
            &c.name,
            "\"email\" is the built-in mail (task --email or mail.to); choose another name",
        ));
    }
    let kind = c.kind.as_str();
    match (&c.url, c.kind.is_http()) {
        (None, true) => {
            return Err(Error::Usage(format!(
                "a {kind} channel needs --url URL or --url-credential CRED"
            )));
        }
        (Some(_), false) => {
            return Err(Error::Usage(format!("a {kind} channel takes no --url")));
        }
        (Some(UrlSource::Plain(u)), true) => check_url("--url", u)?,
        (Some(UrlSource::Credential(n)), true) => crate::vault::validate_credential_name(n)?,
        (None, false) => {}
    }
    if !c.to.is_empty() && c.kind != Kind::Email {
        return Err(Error::Usage(format!("--to is for email channels, not {kind}")));
    }
    if c.kind == Kind::Email {
        let mut seen: Vec<String> = Vec::new();
        for a in &c.to {
            crate::task::validate::check_email(a)
                .map_err(|_| Error::invalid("--to", a, "an e-mail address (name@example.com)"))?;
            if seen.iter().any(|s| s.eq_ignore_ascii_case(a)) {
                return Err(Error::invalid("--to", a, "recipient listed twice"));
            }
            seen.push(a.clone());
        }
        if c.to.len() > crate::notify::address::MAX_RECIPIENTS {
            return Err(Error::invalid(
                "--to",
                format!("{} addresses", c.to.len()),
                format!("at most {}", crate::notify::address::MAX_RECIPIENTS),
            ));
        }
    }
    if let Some(s) = &c.secret {
        if c.kind != Kind::Webhook {
            return Err(Error::Usage(format!("--secret signs webhook payloads, not {kind}")));
        }
        crate::vault::validate_credential_name(s)?;
    }
    Ok(())
}

/// Adds a channel (refused when the name exists or a named credential does not).
/// `command_line` goes into the audit log; the caller has masked any URL in it.
pub fn add(store: &mut Store, c: &Channel, command_line: &str) -> Result<ChannelView> {
    check(c)?;
    let creds = [
        match &c.url {
            Some(UrlSource::Credential(n)) => Some(("--url-credential", n)),
            _ => None,
        },
        c.secret.as_ref().map(|s| ("--secret", s)),
    ];
    for (flag, name) in creds.into_iter().flatten() {
        match crate::vault::credential_exists(store, name)? {
            Some(crate::vault::CredentialKind::Secret) => {}
            Some(_) => {
                return Err(Error::invalid(
                    flag,
                    name,
                    "the credential must be of kind secret (`orc credential set NAME`)",
                ));
            }
            None => {
                return Err(Error::invalid(
                    flag,
                    name,
                    "no such credential; store it first with `orc credential set NAME`",
                ));
            }
        }
    }
    let path = store.path().to_path_buf();
    let now = to_db_time(crate::clock::now_utc());
    store.write(|tx| -> Result<()> {
        if read(tx, &c.name)?.is_some() {
            return Err(Error::invalid(
                "channel name",
                &c.name,
                "a channel of that name exists (names are case-insensitive); remove it first",
            ));
        }
        let (url, url_cred) = match &c.url {
            Some(UrlSource::Plain(u)) => (Some(u.as_str()), None),
            Some(UrlSource::Credential(n)) => (None, Some(n.as_str())),
            None => (None, None),
        };
        tx.execute(
            &format!("INSERT INTO channels ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![c.name, c.kind.as_str(), url, url_cred, c.to.join(","), c.secret, now],
        )
        .map_err(|e| classify(&path, "add channel", e))?;
        let after = serde_json::to_value(view(c, &now)).expect("a view serializes");
        crate::audit::record(tx, command_line, "channel", Some(&c.name), None, Some(&after))?;
        Ok(())
    })?;
    get(store, &c.name)
}

/// Whether any channel is of `kind`.
pub fn any_of_kind(conn: &crate::store::sql::Connection, kind: Kind) -> bool {
    conn.query_row("SELECT 1 FROM channels WHERE kind = ?1 LIMIT 1", [kind.as_str()], |_| Ok(()))
        .optional()
        .ok()
        .flatten()
        .is_some()
}

/// Where a channel is used (tasks, `notify.channels` and `watch.channels`), for `rm` to
/// refuse.
pub fn references(conn: &crate::store::sql::Connection, name: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for key in super::SETTING_KEYS {
        if let Some(v) = crate::config::table::stored(conn, key)
            && super::setting_refs(key, &v).iter().any(|n| n.eq_ignore_ascii_case(name))
        {
            out.push(format!("setting {key}"));
        }
    }
    for t in crate::task::repo::list(conn)? {
        if t.spec.notify_channels.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            out.push(format!("task {}", t.spec.name));
        }
    }
    Ok(out)
}

/// Channels that name `credential` (for `orc credential rm` to refuse).
pub fn credential_users(
    conn: &crate::store::sql::Connection,
    credential: &str,
) -> Result<Vec<String>> {
    let path = std::path::PathBuf::from(conn.path().unwrap_or(""));
    let mut stmt = conn
        .prepare(
            "SELECT name FROM channels WHERE url_credential COLLATE NOCASE = ?1 \
             OR secret_credential COLLATE NOCASE = ?1 ORDER BY name",
        )
        .map_err(|e| classify(&path, "read channels", e))?;
    let names = stmt
        .query_map([credential], |r| r.get::<_, String>(0))
        .map_err(|e| classify(&path, "read channels", e))?
        .collect::<crate::store::sql::Result<Vec<_>>>()
        .map_err(|e| classify(&path, "read channels", e))?;
    Ok(names.into_iter().map(|n| format!("channel {n}")).collect())
}

/// Removes a channel; refused while a task or a setting ([`super::SETTING_KEYS`]) uses it.
pub fn remove(store: &mut Store, name: &str, command_line: &str) -> Result<()> {
    let shown = get(store, name)?;
    let used = references(store.conn(), &shown.name)?;
    if !used.is_empty() {
        return Err(Error::invalid(
            "channel",
            &shown.name,
            format!("it is still used by {}; change those first", used.join(", ")),
        ));
    }
    let path = store.path().to_path_buf();
    store.write(|tx| -> Result<()> {
        tx.execute("DELETE FROM channels WHERE name = ?1", [&shown.name])
            .map_err(|e| classify(&path, "remove channel", e))?;
        let before = serde_json::to_value(&shown).unwrap_or_else(|_| json!({}));
        crate::audit::record(tx, command_line, "channel", Some(&shown.name), Some(&before), None)?;
        Ok(())
    })?;
    Ok(())
}
