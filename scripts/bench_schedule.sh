#!/usr/bin/env bash
# Benchmark of `orc schedule --all` against the fake schtasks, where every schtasks call costs
# FAKE_SCHTASKS_DELAY_MS (default 50 ms, roughly what a real /Create costs on a busy server).
#
# For N tasks (default 1000) it measures schtasks calls and wall time of
#   1. a first `orc schedule --all` (empty folder),
#   2. an unchanged re-run,
#   3. a re-run after one task changed,
# and compares each with the naive approach: for every task, one /Query of that task and one
# /Create from its XML (a loop calling the fake directly). The naive approach cannot know
# what changed, so it makes the same 2·N calls in all three scenarios; it is measured once
# (NAIVE_PASSES=3 measures it three times).
#
#   bash scripts/bench_schedule.sh                  # N=1000, 50 ms per call
#   N=200 DELAY_MS=20 bash scripts/bench_schedule.sh
#
# Needs: cargo, sqlite3, python3 (to write the naive loop's UTF-16 XML files).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh

N="${N:-1000}"
DELAY_MS="${DELAY_MS:-50}"
NAIVE_PASSES="${NAIVE_PASSES:-1}"

need_tools bench_schedule.sh sqlite3 python3

cargo build --quiet --features test-helpers --bin orc --bin fake_schtasks
ORC="$PWD/target/debug/orc"
FAKE="$PWD/target/debug/fake_schtasks"

WORK="$(mktemp -d /tmp/orc-bench-schedule.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export ORC_HOME="$WORK/home" ORC_BACKEND=schtasks ORC_SCHTASKS="$FAKE"
export FAKE_SCHTASKS_ROOT="$WORK/store" FAKE_SCHTASKS_CALL_LOG="$WORK/calls.log"
mkdir -p "$FAKE_SCHTASKS_ROOT"
touch "$FAKE_SCHTASKS_CALL_LOG"

# Create the database, then N tasks with varied business-like schedules.
"$ORC" schedule --list >/dev/null
{
  echo "BEGIN;"
  for i in $(seq 1 "$N"); do
    name=$(printf 'job%04d' "$i")
    case $((i % 5)) in
      0) sched="$((i % 60)) $((i % 24)) * * *" ;;
      1) sched="$((i % 60)) $((i % 12 + 6)) * * 1-5" ;;
      2) sched="*/15 8-18 * * 1-5" ;;
      3) sched="$((i % 60)) 2 1,15 * *" ;;
      4) sched="0 */4 * * *" ;;
    esac
    echo "INSERT INTO tasks (name, enabled, spec, created_at, updated_at) VALUES ('$name', 1, '{\"name\":\"$name\",\"command\":\"echo $name\",\"schedule\":\"$sched\",\"description\":\"bench task $i\"}', 'now', 'now');"
  done
  echo "COMMIT;"
} | sqlite3 "$ORC_HOME/orc.db"

calls() { wc -l <"$FAKE_SCHTASKS_CALL_LOG" | tr -d ' '; }
now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# measure LABEL CMD...: sets CALLS and SECS
measure() {
  local before t0 t1
  before=$(calls); t0=$(now)
  "${@:2}" >/dev/null
  t1=$(now)
  CALLS=$(( $(calls) - before )); SECS=$(elapsed "$t0" "$t1")
  printf '  %-28s %6s calls %8s s\n' "$1" "$CALLS" "$SECS" >&2
}

# The XML orc would register, one UTF-16LE+BOM file per task, for the naive loop.
mkdir -p "$WORK/xml"
"$ORC" --json schedule --all --dry-run >"$WORK/plan.json"
python3 - "$WORK/plan.json" "$WORK/xml" <<'EOF'
import json, sys, os
for e in json.load(open(sys.argv[1])):
    with open(os.path.join(sys.argv[2], e["task"] + ".xml"), "wb") as f:
        f.write(b"\xff\xfe" + e["xml"].encode("utf-16-le"))
EOF

naive() {
  local f name path
  for f in "$WORK"/xml/*.xml; do
    name=$(basename "$f" .xml)
    path="\\Orchestrator\\Orc_$name"
    "$FAKE" /Query /TN "$path" /FO CSV /V /NH >/dev/null 2>&1 || true
    "$FAKE" /Create /TN "$path" /XML "$f" /F >/dev/null
  done
}

export FAKE_SCHTASKS_DELAY_MS="$DELAY_MS"
echo "orc schedule --all, $N tasks, fake schtasks at $DELAY_MS ms per call:" >&2
measure "first run" "$ORC" schedule --all
ORC1=("$CALLS" "$SECS")
measure "unchanged re-run" "$ORC" schedule --all
ORC2=("$CALLS" "$SECS")
sqlite3 "$ORC_HOME/orc.db" "UPDATE tasks SET spec = replace(spec, 'bench task 7\"', 'bench task 7 (changed)\"') WHERE name = 'job0007';"
measure "one task changed" "$ORC" schedule --all
ORC3=("$CALLS" "$SECS")

echo "naive loop (query + create per task):" >&2
rm -rf "$FAKE_SCHTASKS_ROOT" && mkdir -p "$FAKE_SCHTASKS_ROOT"
measure "naive pass 1 (empty folder)" naive
NAIVE1=("$CALLS" "$SECS")
NAIVE2=("${NAIVE1[@]}"); NAIVE3=("${NAIVE1[@]}")
if [ "$NAIVE_PASSES" -ge 3 ]; then
  measure "naive pass 2" naive; NAIVE2=("$CALLS" "$SECS")
  measure "naive pass 3" naive; NAIVE3=("$CALLS" "$SECS")
fi

ratio() { python3 -c "a,b=$1,$2; print(f'{a/b:.1f}x' if b else 'inf')"; }
echo
printf '%-18s %10s %10s %12s %12s %12s %12s\n' scenario "orc calls" "orc time" "naive calls" "naive time" "calls ratio" "time ratio"
row() {
  printf '%-18s %10s %9ss %12s %11ss %12s %12s\n' "$1" "$2" "$3" "$4" "$5" "$(ratio "$4" "$2")" "$(ratio "$5" "$3")"
}
row "first --all" "${ORC1[0]}" "${ORC1[1]}" "${NAIVE1[0]}" "${NAIVE1[1]}"
row "unchanged re-run" "${ORC2[0]}" "${ORC2[1]}" "${NAIVE2[0]}" "${NAIVE2[1]}"
row "one task changed" "${ORC3[0]}" "${ORC3[1]}" "${NAIVE3[0]}" "${NAIVE3[1]}"
echo "(ratios: naive ÷ orc; orc runs at most 4 schtasks processes at once)"
