#!/usr/bin/env bash
# The main job, end to end, on this machine's native scheduler:
# build orc, add a sample task that runs every minute, register it with the OS scheduler
# (cron on Linux), wait for the scheduler to run it, show status and history, clean up.
#
#   bash scripts/quickstart.sh            # as root on a fresh Debian machine
#   KEEP=1 bash scripts/quickstart.sh     # leave the task registered and the home in place
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust first (https://rustup.rs)" >&2
  exit 1
fi
if ! command -v crontab >/dev/null || ! command -v cron >/dev/null; then
  say "installing cron"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cron >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cron >/dev/null
  fi
fi
if ! pgrep -x cron >/dev/null; then
  say "starting the cron daemon"
  if [ "$(id -u)" = 0 ]; then cron; else sudo cron; fi
fi

say "building orc"
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
  --command 'echo "hello from orc on $(hostname) at $(date +%T)"' \
  --description 'quickstart sample' --timeout 30s
"$ORC" task show hello

say "registering with the native scheduler (cron)"
"$ORC" schedule --all
"$ORC" schedule --list
echo "--- crontab ---"
crontab -l

say "waiting for cron to run it (up to 75 s)"
for _ in $(seq 1 75); do
  if "$ORC" history --task hello --json | grep -q '"status": "SUCCESS"'; then
    break
  fi
  sleep 1
done

say "status"
"$ORC" status
say "history"
"$ORC" history --task hello
if ! "$ORC" history --task hello --json | grep -q '"trigger": "scheduled"'; then
  echo "cron did not run the task within 75 s" >&2
  exit 1
fi
say "the scheduled run above was started by cron, recorded by orc"
