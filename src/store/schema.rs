//! The schema, as an append-only list of migrations.
//!
//! Rules (as in cargo's `util/sqlite.rs`): never edit or remove an entry once released;
//! add a new one at the end. Entry `i` takes the database from `user_version = i` to `i + 1`.
//! Each migration also records itself in `schema_log`, which is how the concurrency test
//! proves that exactly one process applied it.
//!
//! Times are stored as UTC RFC 3339 text with millisecond precision and a `Z` suffix, so they
//! sort as text; slots are the local wall-clock minute with its UTC offset.

/// The migrations, oldest first.
pub const MIGRATIONS: &[&str] = &[
    // 1: tasks, runs, configuration, credentials, audit.
    r#"
CREATE TABLE schema_log (
    version     INTEGER NOT NULL,
    applied_at  TEXT NOT NULL,
    applied_by  TEXT NOT NULL
);
CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL COLLATE NOCASE UNIQUE,
    enabled     INTEGER NOT NULL DEFAULT 1,
    spec        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE runs (
    id                INTEGER PRIMARY KEY,
    task_id           INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
    task              TEXT NOT NULL,
    slot              TEXT,
    attempt           INTEGER NOT NULL DEFAULT 1,
    trigger           TEXT NOT NULL CHECK (trigger IN ('scheduled', 'manual', 'retry')),
    status            TEXT NOT NULL CHECK (status IN
                        ('RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'SKIPPED', 'ABANDONED')),
    start             TEXT NOT NULL,
    end               TEXT,
    duration_ms       INTEGER,
    exit_code         INTEGER,
    killed_by_timeout INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    stdout_head       BLOB,
    stdout_tail       BLOB,
    stdout_bytes      INTEGER NOT NULL DEFAULT 0,
    stderr_head       BLOB,
    stderr_tail       BLOB,
    stderr_bytes      INTEGER NOT NULL DEFAULT 0,
    output_file       TEXT,
    pid               INTEGER,
    pid_started       TEXT,
    host              TEXT NOT NULL,
    orc_version       TEXT NOT NULL,
    source            TEXT
);
CREATE INDEX runs_by_task ON runs(task, start);
CREATE INDEX runs_by_start ON runs(start);
CREATE INDEX runs_running ON runs(status) WHERE status = 'RUNNING';
CREATE UNIQUE INDEX runs_by_source ON runs(source) WHERE source IS NOT NULL;
CREATE TABLE config (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE credentials (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL COLLATE NOCASE UNIQUE,
    kind        TEXT NOT NULL,
    envelope    BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    os_user     TEXT NOT NULL,
    command     TEXT NOT NULL,
    object      TEXT NOT NULL,
    name        TEXT,
    before      TEXT,
    after       TEXT
);
"#,
    // 2: scheduling state, slot claims, the vault's wrapped keys, mail outbox, legacy mapping.
    r#"
CREATE TABLE slot_claims (
    task        TEXT NOT NULL COLLATE NOCASE,
    slot        TEXT NOT NULL,
    run_id      INTEGER,
    claimed_at  TEXT NOT NULL,
    PRIMARY KEY (task, slot)
);
CREATE TABLE registrations (
    backend          TEXT NOT NULL,
    host             TEXT NOT NULL DEFAULT '',
    task             TEXT NOT NULL COLLATE NOCASE,
    path             TEXT NOT NULL,
    definition_hash  TEXT NOT NULL,
    registered_at    TEXT NOT NULL,
    PRIMARY KEY (backend, host, task)
);
CREATE TABLE vault_keys (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    params      TEXT NOT NULL,
    wrapped     BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    created_at       TEXT NOT NULL,
    run_id           INTEGER,
    task             TEXT,
    kind             TEXT NOT NULL,
    recipients       TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    body_html        TEXT,
    tries            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    sent_at          TEXT,
    gave_up_at       TEXT
);
CREATE TABLE notify_state (
    task                  TEXT PRIMARY KEY COLLATE NOCASE,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    last_status           TEXT,
    last_alert_at         TEXT,
    alerting              INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE legacy_map (
    kind        TEXT NOT NULL,
    legacy_key  TEXT NOT NULL,
    orc_key     TEXT NOT NULL,
    PRIMARY KEY (kind, legacy_key)
);
"#,
    // 3: what the OS scheduler showed for a registration orc made (schtasks: a hash of the
    // localized trigger and settings columns of the verbose query), to notice hand edits that
    // leave orc's definition hash in place.
    r#"
ALTER TABLE registrations ADD COLUMN observed TEXT;
"#,
    // 4: the executor's lease details. `runs.pid`/`pid_started` identify the orc process that
    // owns a RUNNING row (the lease); `child_pid` is the task's main process, for display and
    // for killing by hand. Index for slot lookups.
    r#"
ALTER TABLE runs ADD COLUMN child_pid INTEGER;
CREATE INDEX runs_by_task_slot ON runs(task, slot);
"#,
    // 5: alert bookkeeping for storm control, and an index for the outbox scan.
    r#"
ALTER TABLE notify_state ADD COLUMN failing_since TEXT;
ALTER TABLE notify_state ADD COLUMN suppressed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notify_state ADD COLUMN last_run_id INTEGER;
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
CREATE INDEX outbox_pending ON outbox(next_attempt_at)
    WHERE sent_at IS NULL AND gave_up_at IS NULL;
"#,
    // 6: incidents found by `orc watch` (at most one open per kind and subject), and the
    // outbox index the watch pass finds given-up messages with (the per-task run indexes the
    // watch pass and the metrics textfile read through are migration 7's).
    r#"
CREATE TABLE incidents (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,
    subject        TEXT NOT NULL COLLATE NOCASE,
    summary        TEXT NOT NULL,
    detail         TEXT NOT NULL,
    mark           TEXT,
    count          INTEGER NOT NULL DEFAULT 1,
    opened_at      TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    last_alert_at  TEXT,
    alerts         INTEGER NOT NULL DEFAULT 0,
    closed_at      TEXT
);
CREATE UNIQUE INDEX incidents_open ON incidents(kind, subject) WHERE closed_at IS NULL;
CREATE INDEX incidents_by_subject ON incidents(kind, subject, mark);
CREATE INDEX outbox_given_up ON outbox(gave_up_at)
    WHERE sent_at IS NULL AND gave_up_at IS NOT NULL;
"#,
    // 7: flat reads on a big history (issue 17). Every read of `runs` compares task names
    // ignoring case, which the binary-collated `runs_by_task`/`runs_by_task_slot` cannot serve
    // (nothing else used them: they are replaced). Per task: newest runs by start, counts by
    // status over a time range (covering), and the newest successful end. See the
    // "Indexed reads" section of `exec/runs/query.rs`.
    r#"
DROP INDEX runs_by_task;
DROP INDEX runs_by_task_slot;
CREATE INDEX runs_task_start ON runs(task COLLATE NOCASE, start);
CREATE INDEX runs_task_status_start ON runs(task COLLATE NOCASE, status, start);
CREATE INDEX runs_task_success_end ON runs(task COLLATE NOCASE, end) WHERE status = 'SUCCESS';
"#,
    // 8: notification channels (`orc channel add`): webhook, teams, slack, email, eventlog. A URL is
    // kept either here (`url`) or in the vault (`url_credential`); `secret_credential` names the
    // vault entry of a webhook's HMAC key. Outbox rows for a non-mail channel name it in
    // `outbox.channel` and carry the event JSON in `body_text`; mail rows leave it NULL.
    r#"
CREATE TABLE channels (
    name               TEXT PRIMARY KEY COLLATE NOCASE,
    kind               TEXT NOT NULL,
    url                TEXT,
    url_credential     TEXT,
    recipients         TEXT NOT NULL DEFAULT '',
    secret_credential  TEXT,
    created_at         TEXT NOT NULL
);
ALTER TABLE outbox ADD COLUMN channel TEXT;
"#,
    // 9: API tokens for the dashboard's REST API (src/token/): only the SHA-256 of a token
    // is stored; `read_only` tokens may only read.
    r#"
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL COLLATE NOCASE UNIQUE,
    hash        TEXT NOT NULL UNIQUE,
    read_only   INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    last_used_at TEXT
);
"#,
    // 10: fleet mode, first slice (issue 18; src/fleet/). Hosts known to the fleet
    // (`orc host add`; `last_seen_at` is the heartbeat every execute writes), host groups and
    // their members. `slot_claims` gains `scope`: '' for a `run-on any` claim (one per slot
    // across the fleet), the host name for `run-on all` (one per host per slot), part of the
    // key; `host` records who claimed. Plain tables and unique-constraint claims, so the same
    // DDL carries over to the PostgreSQL store.
    r#"
CREATE TABLE hosts (
    name          TEXT PRIMARY KEY COLLATE NOCASE,
    added_at      TEXT NOT NULL,
    last_seen_at  TEXT
);
CREATE TABLE host_groups (
    name        TEXT PRIMARY KEY COLLATE NOCASE,
    created_at  TEXT NOT NULL
);
CREATE TABLE host_group_members (
    grp   TEXT NOT NULL COLLATE NOCASE REFERENCES host_groups(name) ON DELETE CASCADE,
    host  TEXT NOT NULL COLLATE NOCASE REFERENCES hosts(name),
    PRIMARY KEY (grp, host)
);
CREATE TABLE slot_claims_v10 (
    task        TEXT NOT NULL COLLATE NOCASE,
    slot        TEXT NOT NULL,
    scope       TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    host        TEXT,
    run_id      INTEGER,
    claimed_at  TEXT NOT NULL,
    PRIMARY KEY (task, slot, scope)
);
INSERT INTO slot_claims_v10 (task, slot, scope, run_id, claimed_at)
    SELECT task, slot, '', run_id, claimed_at FROM slot_claims;
DROP TABLE slot_claims;
ALTER TABLE slot_claims_v10 RENAME TO slot_claims;
"#,
    // 11: flat reads on a big history, continued (issue 17). `runs_status_start` serves
    // `history --status X` and `/api/v1/runs?status=X` without a task (a walk of
    // `runs_by_start` filtered by status read the whole history for a rare status).
    // `run_counts` is how many runs each task has per status (what the metrics textfile's
    // `orc_task_runs_total` shows after every run), kept by triggers in the transaction that
    // writes `runs`, so every writer (execute, reap, prune, import) keeps it right and no
    // reader counts the history. Rows left at 0 are kept.
    r#"
CREATE INDEX runs_status_start ON runs(status, start);
CREATE TABLE run_counts (
    task    TEXT NOT NULL COLLATE NOCASE,
    status  TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (task, status)
) WITHOUT ROWID;
INSERT INTO run_counts (task, status, n)
    SELECT min(task), status, count(*) FROM runs GROUP BY task COLLATE NOCASE, status;
CREATE TRIGGER run_counts_insert AFTER INSERT ON runs BEGIN
    INSERT INTO run_counts (task, status, n) VALUES (NEW.task, NEW.status, 1)
        ON CONFLICT (task, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER run_counts_delete AFTER DELETE ON runs BEGIN
    UPDATE run_counts SET n = n - 1 WHERE task = OLD.task AND status = OLD.status;
END;
CREATE TRIGGER run_counts_update AFTER UPDATE OF task, status ON runs
    WHEN NEW.task IS NOT OLD.task OR NEW.status IS NOT OLD.status BEGIN
    UPDATE run_counts SET n = n - 1 WHERE task = OLD.task AND status = OLD.status;
    INSERT INTO run_counts (task, status, n) VALUES (NEW.task, NEW.status, 1)
        ON CONFLICT (task, status) DO UPDATE SET n = n + 1;
END;
"#,
];
