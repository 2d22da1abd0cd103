#!/usr/bin/env bash
# The main job, end to end, on this machine's native scheduler:
# build orc, add a sample task that runs every minute, register it with the OS scheduler
# (cron on Linux), wait for the scheduler to run it, show status and history, clean up.
#
#   bash scripts/quickstart.sh            # as root on a fresh Debian machine
#   KEEP=1 bash scripts/quickstart.sh     # leave the task registered and the home in place
#
# Only orc's own block (one per home) is added to and removed from your crontab; your own
# lines are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# A cron daemon that serves this system's crontabs: `cron` (Debian) or `crond` (cronie) whose
# root directory is `/` (one running inside a chroot reads another spool and never starts us).
cron_running() {
  local pid
  for pid in $(pgrep -x cron; pgrep -x crond); do
    if [ ! -e /proc/self/root ] || [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = / ]; then
      return 0
    fi
  done
  return 1
}

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust first (https://rustup.rs)" >&2
  exit 1
fi
have_daemon() { command -v cron >/dev/null || command -v crond >/dev/null || [ -x /usr/sbin/cron ] || [ -x /usr/sbin/crond ]; }
if ! command -v crontab >/dev/null || ! have_daemon; then
  say "installing cron"
  if command -v apt-get >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cron >/dev/null
  elif command -v dnf >/dev/null; then
    as_root dnf install -y -q cronie
  else
    echo "install cron with your package manager, then run this again" >&2
    exit 1
  fi
fi
if ! cron_running; then
  say "starting the cron daemon"
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    as_root systemctl start cron 2>/dev/null || as_root systemctl start crond
  elif [ -x /usr/sbin/cron ]; then
    as_root /usr/sbin/cron
  else
    as_root crond
  fi
  sleep 1
  cron_running || { echo "the cron daemon did not start" >&2; exit 1; }
fi

say "building orc (release)"
cargo build --release --quiet
ORC="$PWD/target/release/orc"

HOME_DIR="${ORC_QUICKSTART_HOME:-$(mktemp -d /tmp/orc-quickstart.XXXXXX)}"
export ORC_HOME="$HOME_DIR"
export ORC_BACKEND=crontab
cleanup() {
  if [ -z "${KEEP:-}" ]; then
    say "cleaning up: removing orc's crontab block and $HOME_DIR"
    "$ORC" unschedule --all || true
    rm -rf "$HOME_DIR"
  else
    say "KEEP is set: task left registered, home at $HOME_DIR"
  fi
}
trap cleanup EXIT

say "adding a sample task (every minute)"
"$ORC" task add hello --shell sh --schedule '* * * * *' \
  --command 'echo "hello from orc on $(uname -n) at $(date +%T)"' \
  --description 'quickstart sample' --timeout 30s
"$ORC" task show hello

say "registering with the native scheduler (cron)"
"$ORC" schedule --all
"$ORC" schedule --list
echo "--- crontab -l ---"
crontab -l

# Captured first, then searched: `orc … | grep -q` under pipefail can fail on SIGPIPE.
scheduled_run() {
  local runs
  runs=$("$ORC" history --task hello --json)
  grep -q '"trigger": "scheduled"' <<<"$runs" && grep -q '"status": "SUCCESS"' <<<"$runs"
}

say "waiting for cron to run it (up to 75 s; cron starts jobs at the top of each minute)"
deadline=$((SECONDS + 75))
until scheduled_run; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "cron did not run the task within 75 s" >&2
    echo "--- crontab -l ---" >&2; crontab -l >&2 || true
    echo "--- $HOME_DIR/logs/cron.log ---" >&2; cat "$HOME_DIR/logs/cron.log" >&2 2>/dev/null || echo "(none: cron never started orc)" >&2
    exit 1
  fi
  sleep 2
done

say "status"
"$ORC" status
say "history"
"$ORC" history --task hello
say "what cron's run of orc printed (logs/cron.log)"
cat "$HOME_DIR/logs/cron.log"
say "the scheduled run above was started by cron, recorded by orc"
