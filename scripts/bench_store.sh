#!/usr/bin/env bash
# Benchmark of the two stores (issue 18): the same orc commands against
#   - a SQLite home (the default, orc.db in the home),
#   - PostgreSQL over its Unix socket (trust authentication, no TLS),
#   - PostgreSQL over TCP 127.0.0.1 with TLS (SCRAM password, certificate verified against
#     the throwaway server's own certificate with sslrootcert),
# each a fresh home joined with `orc --store URL home init`, the PostgreSQL ones to a fresh
# database of their own. Measured per store: `orc execute --task t` of a trivial task
# (`/bin/true` through `sh -c`, as scripts/bench_execute.sh), then `orc history --limit 50`
# and `orc status` on the runs the executes recorded. Printed: median and p95 wall time per
# process, and the ratio of the medians to SQLite measured in the same run (never asserted).
# Also printed, to see where the difference comes from: `orc --version` (start-up alone) and
# `psql -c 'select 1'` over the socket and over verified TLS (a connection and one query), and
# the connection set-up alone (`pgbench -C`).
#
# Usage: bash scripts/bench_store.sh [--runs N]     (N runs of each command, default 200)
# NO_BUILD=1 uses target/release as it is (no cargo build first).
# Needs: cargo, python3, PostgreSQL's server (scripts/pg/start.sh), psql, openssl. Uses
# hyperfine when installed, else a timing loop (the output says which).
set -euo pipefail

RUNS=200
while [ $# -gt 0 ]; do
  case "$1" in
    --runs)
      [ $# -ge 2 ] || { echo "--runs needs a number" >&2; exit 2; }
      RUNS=$2
      shift 2
      ;;
    *)
      echo "usage: $0 [--runs N]" >&2
      exit 2
      ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs: not a positive number: $RUNS" >&2; exit 2; }

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
need_tools bench_store.sh cargo python3 openssl
# The server's own psql, not Debian's /usr/bin/psql (a Perl wrapper that would add its start-up).
PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null \
  | sort -V | tail -n 1)
[[ -n $PG_BIN && -x $PG_BIN/psql ]] || die "no PostgreSQL under /usr/lib/postgresql/*/bin"
PSQL=$PG_BIN/psql

echo "== building orc (release)"
build_release orc
ORC="$ROOT/target/release/orc"

WORK="$(mktemp -d -t orc-bench-store-XXXXXX)"
# The server's directory apart from WORK: run as root, the server runs as orc-pg, which must
# be able to reach it (mktemp's directories are private); short for the socket path.
PGDIR="$(mktemp -d /tmp/orc-pg-XXXXXX)"
cleanup() {
  bash "$ROOT/scripts/pg/stop.sh" "$PGDIR" >/dev/null 2>&1 || true
  rm -rf "$WORK" "$PGDIR"
}
trap cleanup EXIT
unset ORC_NOW ORC_LOG ORC_STORE ORC_HOME

echo "== starting a throwaway PostgreSQL server in $PGDIR"
bash scripts/pg/start.sh "$PGDIR" >"$WORK/urls" 2>"$WORK/pg-start.log" \
  || { cat "$WORK/pg-start.log" >&2; exit 1; }
SOCKET_URL=$(sed -n 's/^ORC_TEST_PG=//p' "$WORK/urls")
TLS_URL=$(sed -n 's/^ORC_TEST_PG_TLS=//p' "$WORK/urls")
PORT=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$PGDIR/data/postgresql.conf" | tail -n 1)
PASSWORD=$(cat "$PGDIR/password")
# A verifying client trusts the server's self-signed certificate explicitly.
ROOT_CERT=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' \
  "$PGDIR/tls/server.crt")

# A database of its own per store, so the runs of one never mix with the other's.
for db in bench_socket bench_tls; do
  "$PSQL" -h "$PGDIR" -p "$PORT" -U orc -d orc -Atqc "CREATE DATABASE $db" >/dev/null
done
SOCKET_STORE="${SOCKET_URL%/orc}/bench_socket"
TLS_STORE="${TLS_URL/\/orc\?/\/bench_tls?}&sslrootcert=$ROOT_CERT"

STORES=(sqlite socket tls)
declare -A STORE_URL=([sqlite]=sqlite [socket]="$SOCKET_STORE" [tls]="$TLS_STORE")

for s in "${STORES[@]}"; do
  home="$WORK/home-$s"
  "$ORC" --home "$home" --store "${STORE_URL[$s]}" home init >/dev/null
  # Every later orc of the home reads the store from the home's store.conf (no flag).
  "$ORC" --home "$home" task add t --command /bin/true --shell sh --schedule '* * * * *' \
    --timeout 60s >/dev/null
done

if command -v hyperfine >/dev/null 2>&1; then
  TIMER="hyperfine -N (--warmup 5 --runs $RUNS; wall time of each run from --export-json)"
else
  TIMER="timing loop in bash (5 warm-up runs, then $RUNS runs timed one by one with EPOCHREALTIME)"
fi

# measure NAME CMD...: runs CMD $RUNS times and writes its wall times (seconds, one a line)
# to $WORK/NAME.times.
measure() {
  local name=$1 i t0 t1
  shift
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/$name.json" \
      --command-name "$name" "$(printf '%q ' "$@")" >/dev/null 2>"$WORK/$name.err" \
      || { cat "$WORK/$name.err" >&2; die "$name failed"; }
    python3 -c 'import json, sys
for t in json.load(open(sys.argv[1]))["results"][0]["times"]: print(t)' \
      "$WORK/$name.json" >"$WORK/$name.times"
  else
    for i in 1 2 3 4 5; do "$@" >/dev/null 2>&1 || die "$name failed: $*"; done
    : >"$WORK/$name.times"
    for ((i = 0; i < RUNS; i++)); do
      t0=$(now_us)
      "$@" >/dev/null 2>&1 || die "$name failed: $*"
      t1=$(now_us)
      echo "$(((t1 - t0)))e-6" >>"$WORK/$name.times"
    done
  fi
}

echo "== measuring ($RUNS runs of each command; $TIMER)"
for s in "${STORES[@]}"; do
  home="$WORK/home-$s"
  measure "execute.$s" "$ORC" --home "$home" execute --task t
  measure "history.$s" "$ORC" --home "$home" history --limit 50
  measure "status.$s" "$ORC" --home "$home" status
done
measure version "$ORC" --version
measure psql.socket "$PSQL" -X -h "$PGDIR" -p "$PORT" -U orc -d bench_socket -Atqc 'select 1'
# The password through the environment, not the command line (hyperfine keeps the command).
export PGPASSWORD="$PASSWORD"
measure psql.tls "$PSQL" -X -Atqc 'select 1' \
  "host=127.0.0.1 port=$PORT user=orc dbname=bench_tls sslmode=verify-full sslrootcert=$PGDIR/tls/server.crt"
# Connection set-up alone: pgbench -C opens a new connection per transaction and reports
# the average time of the connections (the transaction is one `select 1`).
echo 'select 1' >"$WORK/select1.sql"
"$PG_BIN/pgbench" -n -C -t "$RUNS" -f "$WORK/select1.sql" -h "$PGDIR" -p "$PORT" -U orc \
  bench_socket >"$WORK/pgbench.socket" 2>&1 || { cat "$WORK/pgbench.socket" >&2; die "pgbench failed"; }
PGSSLMODE=verify-full PGSSLROOTCERT="$PGDIR/tls/server.crt" "$PG_BIN/pgbench" -n -C -t "$RUNS" \
  -f "$WORK/select1.sql" -h 127.0.0.1 -p "$PORT" -U orc bench_tls >"$WORK/pgbench.tls" 2>&1 \
  || { cat "$WORK/pgbench.tls" >&2; die "pgbench failed"; }
unset PGPASSWORD

# Every execute was recorded, in its own store.
for s in "${STORES[@]}"; do
  "$ORC" --home "$WORK/home-$s" --json history --limit 100000 >"$WORK/runs.$s.json"
done

echo "== machine: $(uname -srm), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== PostgreSQL: $("$PG_BIN/postgres" --version)"
python3 - "$WORK" "$RUNS" <<'PY'
import json, os, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])

def times(name):
    with open(os.path.join(work, name + ".times")) as f:
        return sorted(float(line) * 1000 for line in f if line.strip())

def p95(ts):
    return ts[min(len(ts) - 1, int(round(0.95 * len(ts))) - 1)]

stores = [("sqlite", "SQLite (orc.db)"), ("socket", "PostgreSQL, Unix socket"),
          ("tls", "PostgreSQL, TCP+TLS")]
print()
print(f"| command | store | median | p95 | median vs SQLite |")
print(f"|---|---|---|---|---|")
for cmd in ("execute", "history", "status"):
    base = statistics.median(times(f"{cmd}.sqlite"))
    label = {"execute": "`orc execute --task t`", "history": "`orc history --limit 50`",
             "status": "`orc status`"}[cmd]
    for key, name in stores:
        ts = times(f"{cmd}.{key}")
        med = statistics.median(ts)
        print(f"| {label} | {name} | {med:.1f} ms | {p95(ts):.1f} ms | {med / base:.2f}x |")
print()
print("| for comparison | median | p95 |")
print("|---|---|---|")
for name, label in (("version", "`orc --version` (start-up only)"),
                    ("psql.socket", "`psql -c 'select 1'`, Unix socket"),
                    ("psql.tls", "`psql -c 'select 1'`, TCP+TLS (verify-full)")):
    ts = times(name)
    print(f"| {label} | {statistics.median(ts):.1f} ms | {p95(ts):.1f} ms |")
for key, label in (("socket", "Unix socket"), ("tls", "TCP+TLS (verify-full), SCRAM")):
    text = open(os.path.join(work, f"pgbench.{key}")).read()
    ms = next(l.split("=")[1].strip() for l in text.splitlines()
              if l.startswith("average connection time"))
    print(f"| connection set-up alone, {label} (`pgbench -C`, mean) | {float(ms.split()[0]):.1f} ms | |")
print()
for key, name in stores:
    recorded = json.load(open(os.path.join(work, f"runs.{key}.json")))
    ok = sum(1 for r in recorded if r.get("status") == "SUCCESS")
    print(f"{name}: {len(recorded)} runs recorded ({ok} SUCCESS) for {len(times('execute.' + key))} "
          f"timed executes and their warm-up")
PY
