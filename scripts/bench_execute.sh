#!/usr/bin/env bash
# Benchmarks of `orc execute` (printed as ratios, never asserted).
#
#  1. Overhead: `orc execute` of a trivial task (`/bin/true` through `sh -c`) against
#     - the compiled floor (tests/helpers/execute_floor.rs, built here: open the WAL database,
#       commit RUNNING with synchronous=FULL, spawn through sh, wait, commit the result),
#       target <= 1.25x (issue 17);
#     - a bare spawn of the same command (`sh -c /bin/true`), target <= 3x;
#     - the minimal Python equivalent of the legacy tool, target >= 20x faster.
#     The numbers are printed either way.
#  2. Contention: 200 simultaneous `orc execute` processes on one database: results recorded,
#     failed invocations, p50/p99 wall time per process.
#
# Usage: bash scripts/bench_execute.sh [RUNS]      (RUNS: hyperfine/loop iterations, default 200)
# NO_BUILD=1 uses target/release as it is (no cargo build first).
# Needs: cargo, python3 (with its sqlite3 module). Installs hyperfine with apt-get when missing
# and possible; otherwise falls back to a timing loop.
set -euo pipefail

RUNS="${1:-200}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh

echo "== building orc and the compiled floor (release)"
build_release orc orc_execute_floor
ORC="$ROOT/target/release/orc"
FLOOR="$ROOT/target/release/orc_execute_floor"

WORK="$(mktemp -d -t orc-bench-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export ORC_HOME="$WORK/home"
unset ORC_NOW ORC_LOG

# Tasks written straight into the database (works whether or not `orc task add` exists here).
make_home() {
  "$ORC" --home "$1" db check >/dev/null
  python3 - "$1/orc.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for name in ("trivial", "storm"):
    spec = {"name": name, "command": "/bin/true", "shell": "sh", "schedule": "* * * * *",
            "overlap": "parallel", "timeout": 60}
    db.execute("INSERT INTO tasks (name, enabled, spec, created_at, updated_at) "
               "VALUES (?, 1, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
               (name, json.dumps(spec)))
db.commit()
PY
}
make_home "$ORC_HOME"
# The same on tmpfs, where fsync costs nothing: separates orc's own overhead from the disk's.
SHM_HOME=""
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  SHM_HOME="$(mktemp -d /dev/shm/orc-bench-XXXXXX)"
  trap 'rm -rf "$WORK" "$SHM_HOME"' EXIT
  make_home "$SHM_HOME/home"
fi

# The legacy tool's minimal equivalent.
cat >"$WORK/legacy.py" <<'PY'
import sqlite3, subprocess, sys, datetime
db = sqlite3.connect(sys.argv[1], timeout=20)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS task_results (id INTEGER PRIMARY KEY, task_name TEXT, "
           "status TEXT, start_time TEXT, end_time TEXT, exit_code INTEGER, output TEXT)")
now = lambda: datetime.datetime.now().isoformat()
cur = db.execute("INSERT INTO task_results (task_name, status, start_time) VALUES (?, 'RUNNING', ?)",
                 ("trivial", now()))
db.commit()
p = subprocess.run(["sh", "-c", "/bin/true"], capture_output=True)
db.execute("UPDATE task_results SET status=?, end_time=?, exit_code=?, output=? WHERE id=?",
           ("SUCCESS" if p.returncode == 0 else "FAILED", now(), p.returncode,
            p.stdout.decode(errors="replace"), cur.lastrowid))
db.commit()
PY

if ! command -v hyperfine >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  (apt-get install -y hyperfine >/dev/null 2>&1 || true)
fi

mean_ms() { # command... -> mean wall time in ms over $RUNS runs
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$WORK/h.json" "$*" >/dev/null 2>&1
    python3 -c "import json;print('%.3f' % (json.load(open('$WORK/h.json'))['results'][0]['mean']*1000))"
  else
    local start end i
    for i in $(seq 1 10); do "$@" >/dev/null 2>&1; done
    start=$(date +%s%N)
    for i in $(seq 1 "$RUNS"); do "$@" >/dev/null 2>&1; done
    end=$(date +%s%N)
    python3 -c "print('%.3f' % (($end - $start) / 1e6 / $RUNS))"
  fi
}

echo "== overhead ($RUNS runs each$(command -v hyperfine >/dev/null 2>&1 && echo ', hyperfine' || echo ', timing loop'))"
bare=$(mean_ms sh -c /bin/true)
# Start-up alone: a process that does nothing, and orc parsing its command line and exiting
# (`--version`).
nothing=$(mean_ms /bin/true)
version=$(mean_ms "$ORC" --version)
orc=$(mean_ms "$ORC" --home "$ORC_HOME" execute --task trivial)
floor=$(mean_ms "$FLOOR" "$WORK/floor.db" /bin/true)
legacy=$(mean_ms python3 "$WORK/legacy.py" "$WORK/legacy.db")
shm=0; shm_floor=0
if [ -n "$SHM_HOME" ]; then
  shm=$(mean_ms "$ORC" --home "$SHM_HOME/home" execute --task trivial)
  shm_floor=$(mean_ms "$FLOOR" "$SHM_HOME/floor.db" /bin/true)
fi
python3 - "$bare" "$orc" "$legacy" "$shm" "$floor" "$shm_floor" "$nothing" "$version" <<'PY'
import sys
bare, orc, legacy, shm, floor, shm_floor, nothing, version = map(float, sys.argv[1:])
print(f"/bin/true (process start-up)   {nothing:8.2f} ms")
print(f"orc --version (orc start-up)   {version:8.2f} ms   = {version / nothing:5.2f}x /bin/true")
print(f"bare spawn (sh -c /bin/true)   {bare:8.2f} ms")
print(f"compiled floor                 {floor:8.2f} ms   = {floor / bare:5.1f}x bare spawn")
print(f"orc execute --task trivial     {orc:8.2f} ms   = {orc / floor:5.2f}x floor   (target <= 1.25x)   = {orc / bare:5.1f}x bare spawn   (target <= 3x)")
if shm:
    print(f"  floor, database on tmpfs     {shm_floor:8.2f} ms")
    print(f"  orc, database on tmpfs       {shm:8.2f} ms   = {shm / shm_floor:5.2f}x floor on tmpfs   (no fsync cost: orc's own overhead)")
print(f"python legacy floor            {legacy:8.2f} ms   = {legacy / orc:5.1f}x orc           (target >= 20x)")
PY

echo "== contention: 200 simultaneous orc execute on one database"
python3 - "$ORC" "$ORC_HOME" <<'PY'
import os, sqlite3, subprocess, sys, time
orc, home = sys.argv[1], sys.argv[2]
n = 200
procs = []
t0 = time.monotonic()
for _ in range(n):
    procs.append((time.monotonic(), subprocess.Popen([orc, "--home", home, "execute", "--task", "storm"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
walls, failed = [], []
for start, p in procs:
    err = p.communicate()[1]
    walls.append(time.monotonic() - start)
    if p.returncode != 0:
        failed.append((p.returncode, err.decode(errors="replace").strip()))
total = time.monotonic() - t0
db = sqlite3.connect(os.path.join(home, "orc.db"))
rows = db.execute("SELECT count(*), sum(status = 'SUCCESS') FROM runs WHERE task = 'storm'").fetchone()
walls.sort()
pct = lambda q: walls[min(len(walls) - 1, int(len(walls) * q))] * 1000
print(f"{n} processes in {total:.2f} s: {rows[0]} rows recorded ({rows[1]} SUCCESS), {len(failed)} failed invocations")
print(f"wall time per process: p50 {pct(0.50):.0f} ms, p99 {pct(0.99):.0f} ms, max {walls[-1] * 1000:.0f} ms")
for code, err in failed[:3]:
    print(f"  failed: exit {code}: {err}")
print("integrity_check:", db.execute("PRAGMA integrity_check").fetchone()[0])
PY
