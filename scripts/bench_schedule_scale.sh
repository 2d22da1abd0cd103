#!/usr/bin/env bash
# `orc schedule --all` at scale (issue 17): SMALL tasks (default 100) against BIG tasks (default
# 10,000), each in a fresh home against the fake schtasks, where every schtasks call costs
# FAKE_SCHTASKS_DELAY_MS (DELAY_MS, default 5). For the first registration and for the
# unchanged re-run it prints schtasks calls, wall time, orc's own CPU time and peak memory
# (without the fake schtasks processes), and the per-task ratio BIG vs SMALL (1.0 =
# linear; > 1 grows faster than the number of tasks). Targets for the unchanged re-run of
# 10,000 tasks: <= 2 s of orc's own time, <= 100 MiB. Never asserted.
#
#   bash scripts/bench_schedule_scale.sh
#   SMALL=100 BIG=2000 DELAY_MS=0 bash scripts/bench_schedule_scale.sh
#   NO_BUILD=1 ... uses target/release as it is (no cargo build first)
#
# Needs: cargo, sqlite3, python3, Linux /proc. Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh

SMALL="${SMALL:-100}"
BIG="${BIG:-10000}"
DELAY_MS="${DELAY_MS:-5}"
need_tools bench_schedule_scale.sh sqlite3 python3

echo "== building orc and the fake schtasks (release)" >&2
build_release orc fake_schtasks
ORC="$PWD/target/release/orc"
FAKE="$PWD/target/release/fake_schtasks"
unset ORC_NOW ORC_LOG
WORK="$(mktemp -d /tmp/orc-bench-schedule-scale.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export ORC_BACKEND=schtasks ORC_SCHTASKS="$FAKE" FAKE_SCHTASKS_DELAY_MS="$DELAY_MS"

# setup N: a home with N tasks (varied business-like schedules) and an empty fake folder.
setup() {
  local n=$1
  export ORC_HOME="$WORK/home-$n" FAKE_SCHTASKS_ROOT="$WORK/store-$n"
  export FAKE_SCHTASKS_CALL_LOG="$WORK/calls-$n.log"
  mkdir -p "$FAKE_SCHTASKS_ROOT"
  : >"$FAKE_SCHTASKS_CALL_LOG"
  "$ORC" db check >/dev/null
  sqlite3 "$ORC_HOME/orc.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $n)
INSERT INTO tasks (name, enabled, spec, created_at, updated_at)
SELECT printf('job%05d', i), 1,
       json_object('name', printf('job%05d', i), 'command', 'echo ' || printf('job%05d', i),
                   'description', 'bench task ' || i,
                   'schedule', CASE i % 5
                     WHEN 0 THEN printf('%d %d * * *', i % 60, i % 24)
                     WHEN 1 THEN printf('%d %d * * 1-5', i % 60, i % 12 + 6)
                     WHEN 2 THEN '*/15 8-18 * * 1-5'
                     WHEN 3 THEN printf('%d 2 1,15 * *', i % 60)
                     ELSE '0 */4 * * *' END),
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
FROM n;
SQL
}

# measure N LABEL: one `orc schedule --all`; appends "N LABEL calls wall cpu mib" where cpu
# and mib are orc's own (user+system time and peak resident memory of the orc process, read
# from /proc before it is reaped: the fake schtasks processes it waits for are left out).
measure() {
  local n=$1 label=$2 before after
  before=$(wc -l <"$FAKE_SCHTASKS_CALL_LOG")
  python3 - "$ORC" >"$WORK/t" <<'PY'
import os, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen([sys.argv[1], "schedule", "--all"], stdout=subprocess.DEVNULL)
hwm, cpu, tick = 0, 0.0, os.sysconf("SC_CLK_TCK")
while True:
    try:
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]))
        with open(f"/proc/{p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / tick
        if fields[0] == "Z":
            break
    except (FileNotFoundError, ProcessLookupError):
        break
    time.sleep(0.01)
p.wait()
print(f"{time.monotonic() - t0:.2f} {cpu:.2f} {hwm // 1024}")
PY
  after=$(wc -l <"$FAKE_SCHTASKS_CALL_LOG")
  read -r wall cpu mib <"$WORK/t"
  echo "$n $label $((after - before)) $wall $cpu $mib" >>"$WORK/results"
}

for n in "$SMALL" "$BIG"; do
  echo "== $n tasks" >&2
  setup "$n"
  measure "$n" first
  measure "$n" unchanged
done

python3 - "$WORK/results" "$SMALL" "$BIG" "$DELAY_MS" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    n, label, calls, wall, cpu, mib = line.split()
    rows[(int(n), label)] = (int(calls), float(wall), float(cpu), int(mib))
small, big, delay = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"== orc schedule --all, fake schtasks at {delay} ms per call (release build)")
print(f"{'':22s} {'calls':>6s} {'wall s':>8s} {'orc cpu s':>9s} {'orc MiB':>7s}  per-task ratio {big} vs {small}: wall, orc cpu")
for label in ("first", "unchanged"):
    for n in (small, big):
        calls, wall, cpu, mib = rows[(n, label)]
        extra = ""
        if n == big:
            s = rows[(small, label)][1] / small
            c = max(rows[(small, label)][2], 0.01) / small
            extra = f"  {wall / big / s:6.2f}x {cpu / big / c:6.2f}x"
        print(f"{label + ' ' + str(n):22s} {calls:6d} {wall:8.2f} {cpu:9.2f} {mib:7d}{extra}")
PY
