# shellcheck shell=bash
# make_history ORC HOME RUNS [TASKS]: creates an orc home whose database holds TASKS tasks
# (default 20) and RUNS finished run rows (a realistic history: one run of every task every
# five minutes up to now, ~95 % SUCCESS, failures, timeouts, skips and abandoned runs, retries,
# varied durations, exit codes and output tails; errors keep stderr tails), every task
# registered with cron (what `orc watch` looks at). Needs sqlite3.
# Source it; defines functions only.
make_history() {
  local orc=$1 home=$2 runs=$3 tasks=${4:-20}
  "$orc" --home "$home" db check >/dev/null
  sqlite3 "$home/orc.db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $tasks)
INSERT INTO tasks (name, enabled, spec, created_at, updated_at)
SELECT printf('job%02d', i), 1,
       json_object('name', printf('job%02d', i), 'command', '/bin/true', 'shell', 'sh',
                   'schedule', '*/5 * * * *', 'overlap', 'parallel', 'timeout', 600),
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
FROM n;
-- Registered with cron long ago, so orc watch checks every task's slots against its runs.
INSERT INTO registrations (backend, host, task, path, definition_hash, registered_at)
SELECT 'crontab', '', name, 'orc:' || name, 'bench', '2026-01-01T00:00:00.000Z' FROM tasks;
-- Row i is task (i % tasks) at now - (runs - i) * 300 s / tasks: every task every 5 minutes.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $runs),
r AS (
  SELECT i, i % $tasks AS t,
         unixepoch('now') - CAST(($runs - i) * 300.0 / $tasks AS INTEGER) - 60 AS s,
         CASE WHEN i % 200 = 7 THEN 'FAILED' WHEN i % 500 = 11 THEN 'TIMEOUT'
              WHEN i % 1000 = 13 THEN 'SKIPPED' WHEN i % 2000 = 17 THEN 'ABANDONED'
              ELSE 'SUCCESS' END AS st,
         (i * 7919) % 45000 + 40 AS ms
  FROM n
)
INSERT INTO runs (task_id, task, slot, attempt, trigger, status, start, end, duration_ms,
                  exit_code, killed_by_timeout, error, stdout_tail, stdout_bytes, stderr_tail,
                  stderr_bytes, pid, host, orc_version)
SELECT t + 1, printf('job%02d', t + 1),
       strftime('%Y-%m-%dT%H:%M', s, 'unixepoch') || '+00:00',
       CASE WHEN i % 400 = 3 THEN 2 ELSE 1 END,
       CASE WHEN i % 400 = 3 THEN 'retry' WHEN i % 97 = 0 THEN 'manual' ELSE 'scheduled' END,
       st,
       strftime('%Y-%m-%dT%H:%M:%fZ', s, 'unixepoch'),
       strftime('%Y-%m-%dT%H:%M:%fZ', s + ms / 1000.0, 'unixepoch'),
       ms,
       CASE st WHEN 'SUCCESS' THEN 0 WHEN 'FAILED' THEN 1 + i % 3 WHEN 'TIMEOUT' THEN -1 ELSE NULL END,
       st = 'TIMEOUT',
       CASE st WHEN 'FAILED' THEN 'exit code ' || (1 + i % 3) WHEN 'TIMEOUT' THEN 'timed out after 600 s'
               WHEN 'ABANDONED' THEN 'orc process gone' WHEN 'SKIPPED' THEN 'previous run still running'
               ELSE NULL END,
       CAST(substr(printf('%s processed %d records in %d ms; batch %d ok. ', 'job', i % 5000, ms, i)
                       || printf('%.*c', (i * 13) % 400, '.'), 1, 40 + (i * 31) % 400) AS BLOB),
       40 + (i * 31) % 4000,
       CASE WHEN st IN ('FAILED', 'TIMEOUT') THEN
         CAST(printf('Traceback (most recent call last): error in batch %d: connection reset', i) AS BLOB)
       END,
       CASE WHEN st IN ('FAILED', 'TIMEOUT') THEN 75 ELSE 0 END,
       10000 + i % 30000, 'benchhost', '0.1.0'
FROM r;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
}
