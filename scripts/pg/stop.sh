#!/usr/bin/env bash
# Stop the PostgreSQL cluster scripts/pg/start.sh started in DIR (fast shutdown:
# open sessions are ended). Removes nothing: delete DIR yourself. Succeeds,
# saying so, when no server runs there.
#
#   bash scripts/pg/stop.sh DIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/common.sh
source "$ROOT/scripts/lib/common.sh"

[[ $# -eq 1 && -n $1 ]] || die "usage: $0 DIR"
DATA=$1/data
[[ -f $DATA/PG_VERSION ]] || die "$1 holds no cluster made by scripts/pg/start.sh"

# The binaries of the cluster's own major version.
PG_BIN=/usr/lib/postgresql/$(<"$DATA/PG_VERSION")/bin
[[ -x $PG_BIN/pg_ctl ]] || die "$PG_BIN/pg_ctl not found (PostgreSQL $(<"$DATA/PG_VERSION"))"

# As the account that owns the cluster (pg_ctl refuses root).
owner=$(stat -c %U "$DATA")
if [[ $EUID -eq 0 ]]; then as_pg=(runuser -u "$owner" --); else as_pg=(); fi

if ! "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  log "no PostgreSQL server running in $1"
  exit 0
fi
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
log "stopped the PostgreSQL server in $1"
