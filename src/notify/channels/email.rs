//! `email`: mail to the channel's own recipients (`--to`, else `mail.to`), rendered and sent
//! exactly like the built-in mail — the row goes to the mail outbox path, not [`super::deliver`].

use chrono::{DateTime, Utc};

use crate::notify::address;
use crate::notify::outbox::{self, NewMessage};
use crate::store::StoreError;

use super::{Channel, Kind};

/// The recipients of an email channel: its `--to`, else `mail.to`. Invalid stored addresses
/// (impossible through `orc channel add`) are skipped with a warning.
pub fn recipients(channel: &Channel, mail_to: &[lettre::Address]) -> Vec<lettre::Address> {
    if channel.to.is_empty() {
        return mail_to.to_vec();
    }
    match address::from_items("to", &channel.to) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!("channel {} has invalid recipients ({e}); using mail.to", channel.name);
            mail_to.to_vec()
        }
    }
}

/// Queues `mail` once per email channel in `channels` (with that channel's recipients), in the
/// caller's transaction. Returns the outbox ids.
pub fn queue(
    tx: &crate::store::sql::Transaction<'_>,
    store_path: &std::path::Path,
    channels: &[Channel],
    mail: &NewMessage,
    mail_to: &[lettre::Address],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::new();
    for c in channels.iter().filter(|c| c.kind == Kind::Email) {
        let to = recipients(c, mail_to);
        if to.is_empty() {
            tracing::warn!("email channel {} has no recipients (set --to or mail.to)", c.name);
            continue;
        }
        ids.push(outbox::insert(
            tx,
            store_path,
            &NewMessage { recipients: to, ..mail.clone() },
            now,
        )?);
    }
    Ok(ids)
}
