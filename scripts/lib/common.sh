# shellcheck shell=bash
# Shared shell helpers for scripts/*.sh. Source it; it defines functions only
# (and a few variables prefixed ORC_CI_ / _orc_), it runs nothing by itself.
# Written for bash >= 5 under `set -euo pipefail`.

# --- output -----------------------------------------------------------------

# log MSG...: a line on stderr, so it never mixes into captured stdout.
log() { printf '%s\n' "$*" >&2; }

# die MSG...: print and exit 1.
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# show_cmd CMD ARGS...: print a command the way a shell would read it back.
show_cmd() {
  local out='+' a
  for a in "$@"; do out+=" $(printf '%q' "$a")"; done
  printf '%s\n' "$out" >&2
}

# run CMD ARGS...: print the command, then run it (its exit status is returned).
run() {
  show_cmd "$@"
  "$@"
}

# AS_ROOT: the prefix that runs a command as root: empty when we are root,
# else password-less sudo. Usable with `timeout`, unlike a function.
# shellcheck disable=SC2034 # used by the scripts that source this file
if [[ $EUID -ne 0 ]]; then AS_ROOT=(sudo -n); else AS_ROOT=(); fi

# --- time -------------------------------------------------------------------

# now_us: microseconds since the epoch (bash 5's EPOCHREALTIME, no fork).
now_us() {
  local t=${EPOCHREALTIME/[.,]/}
  printf '%s' "$t"
}

# fmt_us MICROSECONDS: "0.4s", "12.3s", "4m05s", "1h02m03s".
fmt_us() {
  local us=$1 s ds
  s=$((us / 1000000))
  ds=$(((us % 1000000) / 100000))
  if ((s < 60)); then
    printf '%d.%ds' "$s" "$ds"
  elif ((s < 3600)); then
    printf '%dm%02ds' $((s / 60)) $((s % 60))
  else
    printf '%dh%02dm%02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  fi
}

# --- quiet commands -----------------------------------------------------------

# quietly LOGFILE CMD ARGS...: print the command, run it with all output
# appended to LOGFILE; on failure print the log's tail and return the status.
quietly() {
  local logfile=$1 rc=0
  shift
  show_cmd "$@"
  printf '\n### %s\n' "$*" >>"$logfile"
  "$@" </dev/null >>"$logfile" 2>&1 || rc=$?
  ((rc == 0)) || show_log_tail "$logfile" "$rc"
  return "$rc"
}

# show_log_tail LOGFILE STATUS: the last 40 lines of a quiet command's log.
show_log_tail() {
  log "--- failed (exit $2); last 40 lines of $1:"
  tail -n 40 "$1" >&2 || true
  log "---"
}

# host_cron_pid: the oldest cron daemon that runs in this machine's root file system (a cron
# inside a chroot reads another crontab directory and never starts our jobs).
host_cron_pid() {
  local p
  for p in $(pgrep -x cron 2>/dev/null | sort -n); do
    if [[ $(readlink "/proc/$p/root" 2>/dev/null) == / ]]; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# --- benchmarks -----------------------------------------------------------------

# need_tools SCRIPT TOOL...: exits 2 with "SCRIPT needs TOOL" when a tool is not installed.
need_tools() {
  local script=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || {
      echo "$script needs $tool" >&2
      exit 2
    }
  done
}

# build_release BIN...: builds these binaries of orc (with the test helpers) in release mode,
# unless NO_BUILD is set (then target/release is used as it is).
build_release() {
  local args=() bin
  for bin in "$@"; do args+=(--bin "$bin"); done
  [ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --features test-helpers "${args[@]}"
}
