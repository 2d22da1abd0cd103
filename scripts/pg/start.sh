#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster in DIR for orc's tests (see scripts/pg/README.md):
#
#   bash scripts/pg/start.sh DIR      # prints two lines on stdout:
#   ORC_TEST_PG=postgres://orc@%2F...DIR...:PORT/orc              (Unix socket in DIR, trust)
#   ORC_TEST_PG_TLS=postgres://orc:PASSWORD@127.0.0.1:PORT/orc?sslmode=require
#                                     (TCP on 127.0.0.1, TLS only, SCRAM password)
#
# DIR is created if missing; it must be empty or hold a cluster this script made
# (then that cluster is started again, on its recorded port). A server already
# running in DIR is an error. Stop it with scripts/pg/stop.sh DIR; delete DIR
# yourself when done. Run as root, the server runs as the unprivileged user
# orc-pg (created if missing) and DIR is chowned to it: initdb and postgres
# refuse to run as root. The binaries are those of the newest
# /usr/lib/postgresql/*/bin (Debian's `postgresql` package).
#
# Layout of DIR: data/ (the cluster), server.log, tls/server.{crt,key} (a
# self-signed certificate for 127.0.0.1), password (the SCRAM password of the
# superuser `orc`), urls (what start prints), and the socket .s.PGSQL.PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/common.sh
source "$ROOT/scripts/lib/common.sh"

[[ $# -eq 1 && -n $1 ]] || die "usage: $0 DIR"
DIR=$1
[[ $DIR == /* ]] || DIR=$PWD/$DIR

PG_USER=orc-pg # the OS account the server runs as when we are root
DB_USER=orc    # the database superuser the URLs name
DB_NAME=orc

# The newest installed major version's binaries.
PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null \
  | sort -V | tail -n 1)
[[ -n $PG_BIN && -x $PG_BIN/postgres ]] \
  || die "no PostgreSQL server under /usr/lib/postgresql/*/bin: apt-get install postgresql"

# as_pg CMD ARGS...: run a command as the account that owns the cluster.
if [[ $EUID -eq 0 ]]; then
  if ! id -u "$PG_USER" >/dev/null 2>&1; then
    run useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      "$PG_USER"
  fi
  as_pg() { runuser -u "$PG_USER" -- "$@"; }
else
  as_pg() { "$@"; }
fi

# pct STRING: percent-encode every byte but the URL-unreserved ones.
pct() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    if [[ $c == [A-Za-z0-9._~-] ]]; then out+=$c; else out+=$(printf '%%%02X' "'$c"); fi
  done
  printf '%s' "$out"
}

# free_port: a TCP port nothing listens on at 127.0.0.1 (from the ephemeral-free range).
free_port() {
  local p _
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      printf '%s' "$p"
      return 0
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

DATA=$DIR/data
mkdir -p "$DIR"

if [[ -f $DATA/PG_VERSION ]]; then
  # A cluster made earlier: refuse if it runs, else start it again as it was.
  if as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    die "a PostgreSQL server is already running in $DIR (stop it with scripts/pg/stop.sh $DIR)"
  fi
  [[ -f $DIR/urls ]] || die "$DATA exists but $DIR/urls does not: not a cluster made by $0"
  log "restarting the existing cluster in $DATA"
else
  [[ -z $(ls -A "$DIR") ]] || die "$DIR is neither empty nor a cluster made by $0"
  # The socket path (DIR/.s.PGSQL.NNNNN) must fit in sun_path (107 bytes).
  ((${#DIR} + 13 <= 107)) || die "$DIR is too long for a Unix socket path; use a shorter one"
  if [[ $EUID -eq 0 ]]; then
    chown "$PG_USER:" "$DIR"
    as_pg test -w "$DIR" -a -x "$DIR" \
      || die "$PG_USER cannot write $DIR: its parent directories must be searchable by it"
  fi
  chmod 700 "$DIR"

  PORT=$(free_port)
  PASSWORD=$(openssl rand -hex 16)
  (umask 077 && printf '%s\n' "$PASSWORD" >"$DIR/password")
  [[ $EUID -ne 0 ]] || chown "$PG_USER:" "$DIR/password"

  # C collation with UTF-8: text sorts byte-wise like SQLite's BINARY; case-insensitive
  # comparisons use the `nocase` ICU collation orc's first migration creates.
  log "initdb $DATA (PostgreSQL $(basename "$(dirname "$PG_BIN")"))"
  as_pg "$PG_BIN/initdb" -D "$DATA" --username="$DB_USER" --pwfile="$DIR/password" \
    --encoding=UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 \
    || {
      tail -n 20 "$DIR/initdb.log" >&2
      die "initdb failed (log: $DIR/initdb.log)"
    }

  # Self-signed certificate for 127.0.0.1 (sslmode=require encrypts without verifying;
  # tls/server.crt can serve as the root certificate of a verifying client). It must say
  # CA:FALSE: openssl's default for -x509 is a CA certificate, which rustls (orc's TLS) refuses
  # as a server's certificate even when trusted (CaUsedAsEndEntity, rustls/webpki#205).
  mkdir -p "$DIR/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$DIR/tls/server.key" -out "$DIR/tls/server.crt" >/dev/null 2>&1 \
    || die "openssl could not make the test certificate"
  chmod 600 "$DIR/tls/server.key"
  [[ $EUID -ne 0 ]] || chown -R "$PG_USER:" "$DIR/tls"

  # Local socket: trust (the socket sits in DIR, mode 0700). TCP: TLS with a password only.
  cat >"$DATA/pg_hba.conf" <<EOF
# TYPE     DATABASE  USER  ADDRESS       METHOD
local      all       all                 trust
hostssl    all       all   127.0.0.1/32  scram-sha-256
hostnossl  all       all   0.0.0.0/0     reject
EOF
  # The storm tests open many connections at once (3 hosts x 20 starts, plus readers).
  cat >>"$DATA/postgresql.conf" <<EOF

# scripts/pg/start.sh
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
ssl = on
ssl_cert_file = '$DIR/tls/server.crt'
ssl_key_file = '$DIR/tls/server.key'
max_connections = 200
EOF
  [[ $EUID -ne 0 ]] || chown "$PG_USER:" "$DATA/pg_hba.conf" "$DATA/postgresql.conf"

  SOCKET_URL="postgres://$DB_USER@$(pct "$DIR"):$PORT/$DB_NAME"
  TLS_URL="postgres://$DB_USER:$PASSWORD@127.0.0.1:$PORT/$DB_NAME?sslmode=require"
  printf 'ORC_TEST_PG=%s\nORC_TEST_PG_TLS=%s\n' "$SOCKET_URL" "$TLS_URL" >"$DIR/urls"
fi

PORT=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$DATA/postgresql.conf" | tail -n 1)
[[ -n $PORT ]] || die "no port in $DATA/postgresql.conf"

if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 start >/dev/null 2>&1; then
  tail -n 20 "$DIR/server.log" >&2 || true
  die "PostgreSQL did not start (log: $DIR/server.log)"
fi

# The database the URLs name (over the socket, as the superuser).
if ! "$PG_BIN/psql" -h "$DIR" -p "$PORT" -U "$DB_USER" -d postgres -Atqc \
  "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -qx 1; then
  "$PG_BIN/createdb" -h "$DIR" -p "$PORT" -U "$DB_USER" "$DB_NAME"
fi
log "PostgreSQL running in $DIR (port $PORT; stop: bash scripts/pg/stop.sh $DIR)"
cat "$DIR/urls"
