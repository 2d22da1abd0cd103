#!/usr/bin/env bash
# orc's whole test suite, exactly as CI runs it (.ci/run execs this):
#
#   bash scripts/test.sh                     # everything
#   bash scripts/test.sh --skip wine         # leave out steps (comma-separated names or groups)
#   bash scripts/test.sh --list              # the step names
#
# Steps, in order; the first failure stops the run (a summary table is printed
# either way, and the exit status is non-zero when a step failed):
#   install         apt: gcc-mingw-w64-x86-64 wine wine64 cron chromium fonts-liberation
#                   fonts-dejavu-core sqlite3 postgresql
#                   (apt-get update only when one is missing); rustup target
#                   x86_64-pc-windows-gnu, rustfmt, clippy; pip: aiosmtpd. Output
#                   goes to target/ci-logs/install.log, its tail is shown on failure.
#   fmt             cargo fmt --check
#   clippy-linux    cargo clippy --all-targets -- -D warnings
#   clippy-windows  the same with --target x86_64-pc-windows-gnu
#   services        starts the cron daemon if none runs and a throwaway PostgreSQL
#                   server in a temporary directory (scripts/pg/start.sh; stopped and
#                   removed at exit); exports the ORC_TEST_* variables
#                   (see scripts/lib/test-env.sh for what each one means)
#   build-linux     cargo test --no-run (also builds the helper binaries; see step_build_linux)
#   test-linux      cargo test --tests -- --include-ignored (the #[ignore]d
#                   end-to-end tests that need cron, SMTP, chromium run here)
#   test-postgres   the integration suite again with every test home on the PostgreSQL
#                   server (ORC_TEST_STORE=postgres: a schema per home), less the tests
#                   of what only SQLite has (PG_NOT_APPLICABLE)
#   doctest         cargo test --doc, only when src/ has a ``` code block in a doc comment
#   build-windows   cargo test --target x86_64-pc-windows-gnu --no-run
#   wine-setup      scripts/wine/setup.sh: prefix, ProcessPrng shim, probe exe
#   test-windows    cargo test --tests --target x86_64-pc-windows-gnu with
#                   wine as runner, without ignored tests (doc tests: Linux only)
# Groups for --skip: linux = clippy-linux,build-linux,test-linux,doctest;
# windows/wine = clippy-windows,build-windows,wine-setup,test-windows; clippy; tests.
#
# Every step has a time limit (see STEP_LIMITS; ORC_CI_LIMITS="step=seconds,..."
# overrides them); with CI=true all of them also
# stay inside a budget of ORC_CI_BUDGET seconds (default 5200, CI allows 5400)
# so that a hang is reported as such, with the summary, before CI kills us.
#
# Environment: CARGO_TARGET_DIR is honoured; logs go to $target/ci-logs/.
# With CI=true, CARGO_INCREMENTAL defaults to 0 (every CI run is a fresh clone).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=lib/common.sh
source scripts/lib/common.sh

# No step reads stdin; make a local run behave like CI, which has none.
exec </dev/null

WIN_TARGET=x86_64-pc-windows-gnu
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LOG_DIR=$TARGET_DIR/ci-logs
mkdir -p "$LOG_DIR"
# The summary counts test results from these logs: none may be left from an earlier run.
rm -f "$LOG_DIR"/test-linux.log "$LOG_DIR"/test-postgres.log "$LOG_DIR"/doctest.log \
  "$LOG_DIR"/test-windows.log

APT_PACKAGES_NOTE="gcc-mingw-w64-x86-64 wine wine64 cron chromium fonts-liberation fonts-dejavu-core sqlite3 postgresql"
AIOSMTPD_REQ='aiosmtpd>=1.4.6,<2'

STEPS=(install fmt clippy-linux clippy-windows services build-linux test-linux test-postgres
  doctest build-windows wine-setup test-windows)
declare -A STEP_LIMITS=(
  [install]=1200 [fmt]=300 [clippy-linux]=1800 [clippy-windows]=1800 [services]=120
  [build-linux]=1800 [test-linux]=1800 [test-postgres]=1200 [doctest]=900
  [build-windows]=1800 [wine-setup]=600 [test-windows]=2400
)

# ORC_CI_LIMITS="test-windows=600,test-linux=900" overrides step limits (seconds).
if [[ -n ${ORC_CI_LIMITS:-} ]]; then
  IFS=, read -ra _limits <<<"$ORC_CI_LIMITS"
  for _l in "${_limits[@]}"; do
    [[ $_l =~ ^([a-z-]+)=([0-9]+)$ && -v STEP_LIMITS[${BASH_REMATCH[1]}] ]] \
      || die "ORC_CI_LIMITS: bad entry '$_l' (want step=seconds)"
    STEP_LIMITS[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
  done
fi

# --- arguments ----------------------------------------------------------------

declare -A SKIP=()
while (($#)); do
  case $1 in
    --skip)
      [[ $# -ge 2 ]] || die "--skip needs a value"
      IFS=, read -ra _names <<<"$2"
      for n in "${_names[@]}"; do
        case $n in
          linux) for s in clippy-linux build-linux test-linux test-postgres doctest; do SKIP[$s]=1; done ;;
          windows | wine) for s in clippy-windows build-windows wine-setup test-windows; do SKIP[$s]=1; done ;;
          clippy) SKIP[clippy-linux]=1 SKIP[clippy-windows]=1 ;;
          tests) for s in test-linux test-postgres doctest test-windows; do SKIP[$s]=1; done ;;
          *)
            [[ -v STEP_LIMITS[$n] ]] || die "unknown step '$n' (try --list)"
            SKIP[$n]=1
            ;;
        esac
      done
      shift 2
      ;;
    --list)
      printf '%s\n' "${STEPS[@]}"
      exit 0
      ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
      exit 0
      ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done

# --- step machinery -------------------------------------------------------------

if [[ ${CI:-} == true || ${CI:-} == 1 ]]; then
  : "${CARGO_INCREMENTAL:=0}"
  export CARGO_INCREMENTAL
  : "${ORC_CI_BUDGET:=5200}"
fi
RUN_START=$(now_us)
if [[ -n ${ORC_CI_BUDGET:-} ]]; then
  RUN_DEADLINE=$((RUN_START + ORC_CI_BUDGET * 1000000))
else
  RUN_DEADLINE=0
fi

declare -A STATUS=() DURATION=()
CURRENT_STEP=""
STEP_START=0
STEP_DEADLINE=0
TIMED_OUT=""

# step NAME FUNCTION: run FUNCTION as step NAME, with banner, timing and limit.
# Not called in a condition, so `set -e` applies inside FUNCTION; a failure
# ends the script through the EXIT trap, which records it.
step() {
  local name=$1 fn=$2 limit_us
  if [[ -v SKIP[$name] ]]; then
    STATUS[$name]=skipped
    return 0
  fi
  CURRENT_STEP=$name
  STEP_START=$(now_us)
  limit_us=$((STEP_LIMITS[$name] * 1000000))
  STEP_DEADLINE=$((STEP_START + limit_us))
  if ((RUN_DEADLINE > 0 && RUN_DEADLINE < STEP_DEADLINE)); then
    STEP_DEADLINE=$RUN_DEADLINE
  fi
  printf '\n==== [%s] %s  (limit %ds, at %s)\n' "$name" "$(step_title "$name")" \
    $(((STEP_DEADLINE - STEP_START) / 1000000)) "$(fmt_us $((STEP_START - RUN_START)))" >&2
  "$fn"
  DURATION[$name]=$(($(now_us) - STEP_START))
  STATUS[$name]=ok
  printf '==== [%s] ok in %s\n' "$name" "$(fmt_us "${DURATION[$name]}")" >&2
  CURRENT_STEP=""
}

step_title() {
  case $1 in
    install) echo "install what the tests need" ;;
    fmt) echo "formatting" ;;
    clippy-linux) echo "clippy, Linux" ;;
    clippy-windows) echo "clippy, $WIN_TARGET" ;;
    services) echo "start cron and PostgreSQL, export test environment" ;;
    build-linux) echo "build the Linux test suite" ;;
    test-linux) echo "Linux tests, including ignored end-to-end tests" ;;
    test-postgres) echo "integration tests against PostgreSQL" ;;
    doctest) echo "doc tests" ;;
    build-windows) echo "build the Windows test suite ($WIN_TARGET)" ;;
    wine-setup) echo "prepare Wine" ;;
    test-windows) echo "Windows tests under Wine (ignored tests excluded)" ;;
  esac
}

# tcmd CMD ARGS...: print and run a command within the current step's time
# limit. With TCMD_QUIET=LOGFILE its output goes to LOGFILE instead, and the
# log's tail is shown if it fails.
tcmd() {
  local left rc=0
  left=$(((STEP_DEADLINE - $(now_us)) / 1000000))
  if ((left < 5)); then
    TIMED_OUT="no time left in step '$CURRENT_STEP' to run: $*"
    log "!!! TIMED OUT: $TIMED_OUT"
    return 124
  fi
  show_cmd "$@"
  if [[ -n ${TCMD_QUIET:-} ]]; then
    printf '\n### %s\n' "$*" >>"$TCMD_QUIET"
    timeout --kill-after=30 "$left" "$@" >>"$TCMD_QUIET" 2>&1 || rc=$?
    ((rc == 0)) || show_log_tail "$TCMD_QUIET" "$rc"
  else
    timeout --kill-after=30 "$left" "$@" || rc=$?
  fi
  if ((rc == 124 || rc == 137)) && (($(now_us) >= STEP_DEADLINE - 1000000)); then
    TIMED_OUT="step '$CURRENT_STEP' reached its limit (${left}s left when it started) in: $*"
    log "!!! TIMED OUT: $TIMED_OUT"
  fi
  return "$rc"
}

# tcmd_log LOGFILE CMD ARGS...: tcmd, with the output also appended to LOGFILE.
tcmd_log() {
  local logfile=$1 rc=0
  shift
  # tcmd runs in the pipeline's subshell: the TIMED_OUT it sets is lost, so
  # the message it prints is what tells; recompute it here for the summary.
  tcmd "$@" 2>&1 | tee -a "$logfile" || rc=$?
  if ((rc == 124 || rc == 137)) && (($(now_us) >= STEP_DEADLINE - 1000000)); then
    TIMED_OUT="step '$CURRENT_STEP' reached its time limit in: $*"
  fi
  return "$rc"
}

# Test-result lines of cargo's harness in LOGFILE, summed: "P F I".
count_results() {
  [[ -f $1 ]] || return 0
  awk '/^test result: /{
         for (i = 1; i <= NF; i++) {
           if ($i ~ /^passed;?$/) p += $(i-1)
           if ($i ~ /^failed;?$/) f += $(i-1)
           if ($i ~ /^ignored;?$/) g += $(i-1)
         }
         n++
       }
       END { if (n) printf "%d %d %d\n", p, f, g }' "$1"
}

# --- cleanup and summary ------------------------------------------------------

STARTED_CRON_PID=""
STARTED_PG_DIR=""
WINE_USED=0

cleanup() {
  if ((WINE_USED)); then
    # Wine's server and services outlive the test binaries; they would keep
    # running after us (and, started elsewhere, hold a CI step's output open).
    WINEDEBUG=-all timeout 30 wineserver -k >/dev/null 2>&1 || true
    WINE_USED=0
  fi
  if [[ -n $STARTED_CRON_PID && -z ${ORC_KEEP_CRON:-} ]]; then
    # We started it; leave the machine as we found it (ORC_KEEP_CRON=1 keeps it).
    "${AS_ROOT[@]}" kill "$STARTED_CRON_PID" 2>/dev/null || true
    STARTED_CRON_PID=""
  fi
  if [[ -n $STARTED_PG_DIR ]]; then
    bash scripts/pg/stop.sh "$STARTED_PG_DIR" >/dev/null 2>&1 || true
    rm -rf "$STARTED_PG_DIR"
    STARTED_PG_DIR=""
  fi
}

summary() {
  local rc=$1 s st d total_p=0 total_f=0 total_s=0 r p f g
  printf '\n==== summary\n' >&2
  printf '%-16s %-9s %10s\n' step status time
  for s in "${STEPS[@]}"; do
    st=${STATUS[$s]:-not run}
    d=""
    [[ -v DURATION[$s] ]] && d=$(fmt_us "${DURATION[$s]}")
    printf '%-16s %-9s %10s\n' "$s" "$st" "$d"
  done
  printf '%-16s %-9s %10s\n' total "" "$(fmt_us $(($(now_us) - RUN_START)))"
  [[ -n $TIMED_OUT ]] && printf 'TIMED OUT: %s\n' "$TIMED_OUT"
  for pair in "linux:test-linux doctest" "postgres:test-postgres" "wine:test-windows"; do
    local label=${pair%%:*} logs=${pair#*:} lp=0 lf=0 lg=0 any=0
    for s in $logs; do
      r=$(count_results "$LOG_DIR/$s.log")
      [[ -n $r ]] || continue
      read -r p f g <<<"$r"
      lp=$((lp + p)) lf=$((lf + f)) lg=$((lg + g)) any=1
    done
    if ((any)); then
      printf '%s: %d passed, %d failed, %d skipped\n' "$label" "$lp" "$lf" "$lg"
      total_p=$((total_p + lp)) total_f=$((total_f + lf)) total_s=$((total_s + lg))
    fi
  done
  printf 'total: %d passed, %d failed, %d skipped\n' "$total_p" "$total_f" "$total_s"
  if ((rc == 0)); then
    printf 'scripts/test.sh: all steps passed\n'
  else
    printf 'scripts/test.sh: FAILED (exit %d)\n' "$rc"
  fi
}

on_exit() {
  local rc=$?
  trap - EXIT
  set +e
  if [[ -n $CURRENT_STEP ]]; then
    DURATION[$CURRENT_STEP]=$(($(now_us) - STEP_START))
    if [[ -n $TIMED_OUT ]]; then STATUS[$CURRENT_STEP]=TIMEOUT; else STATUS[$CURRENT_STEP]=FAILED; fi
    printf '==== [%s] %s after %s (exit %d)\n' "$CURRENT_STEP" "${STATUS[$CURRENT_STEP]}" \
      "$(fmt_us "${DURATION[$CURRENT_STEP]}")" "$rc" >&2
    ((rc != 0)) || rc=1
  fi
  cleanup
  summary "$rc"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- steps --------------------------------------------------------------------

step_install() {
  local logfile=$LOG_DIR/install.log
  : >"$logfile"
  log "(quiet: output goes to $logfile)"

  # Debian packages, by the command each provides: on a machine that has the
  # command already (another distro, a preinstalled Chrome) nothing is installed.
  local missing=()
  command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
  if ! command -v wine >/dev/null || ! command -v wineserver >/dev/null; then
    missing+=(wine wine64)
  fi
  command -v cron >/dev/null || [[ -x /usr/sbin/cron ]] || missing+=(cron)
  command -v crontab >/dev/null || missing+=(cron)
  if [[ -z ${ORC_TEST_CHROMIUM:-} ]] && ! command -v chromium >/dev/null \
    && ! command -v google-chrome-stable >/dev/null && ! command -v google-chrome >/dev/null; then
    missing+=(chromium)
  fi
  command -v sqlite3 >/dev/null || missing+=(sqlite3)
  # Debian keeps the server binaries in /usr/lib/postgresql/<major>/bin (scripts/pg/start.sh).
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
  # Fonts for screenshots of HTML reports (Liberation: metric-compatible Arial &
  # co.; DejaVu: wide Unicode coverage, e.g. check marks).
  local f
  for f in fonts-liberation fonts-dejavu-core; do
    if command -v dpkg-query >/dev/null \
      && [[ $(dpkg-query -W -f='${Status}' "$f" 2>/dev/null) != "install ok installed" ]]; then
      missing+=("$f")
    fi
  done
  if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    log "missing Debian packages: ${missing[*]}"
    command -v apt-get >/dev/null || die "no apt-get: install by hand: $APT_PACKAGES_NOTE"
    TCMD_QUIET=$logfile tcmd "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout=300 update -qq
    TCMD_QUIET=$logfile tcmd "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
  else
    log "Debian packages: all present"
  fi

  # Rust: the Windows target, rustfmt, clippy (for the toolchain in use here).
  command -v rustup >/dev/null || die "rustup not found: orc needs a rustup-managed toolchain"
  local have_targets have_components
  have_targets=$(rustup target list --installed)
  if ! grep -qx "$WIN_TARGET" <<<"$have_targets"; then
    TCMD_QUIET=$logfile tcmd rustup target add "$WIN_TARGET"
  fi
  have_components=$(rustup component list --installed)
  local c
  for c in rustfmt clippy; do
    if ! grep -q "^$c" <<<"$have_components"; then
      TCMD_QUIET=$logfile tcmd rustup component add "$c"
    fi
  done

  # Python: aiosmtpd, the SMTP server mail tests start.
  command -v python3 >/dev/null || die "python3 not found"
  # cryptography: the legacy-database generator the migration tests run.
  if ! python3 -c 'import aiosmtpd, cryptography' 2>/dev/null; then
    TCMD_QUIET=$logfile tcmd env PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
      python3 -m pip install --quiet "$AIOSMTPD_REQ" cryptography
  fi

  # Everything there now?
  local t
  for t in x86_64-w64-mingw32-gcc wine wineserver sqlite3 crontab; do
    command -v "$t" >/dev/null || die "$t still missing after install"
  done
  python3 -c 'import aiosmtpd, cryptography' 2>/dev/null \
    || die "python3 cannot import aiosmtpd and cryptography after install"
  local pg_bin
  pg_bin=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1) \
    || die "PostgreSQL server still missing after install"
  log "wine: $(WINEDEBUG=-all wine --version 2>&1) | mingw: $(x86_64-w64-mingw32-gcc -dumpversion)" \
    "| sqlite3: $(sqlite3 --version | cut -d' ' -f1) | $("$pg_bin/postgres" --version)" \
    "| $(rustc --version)"
}

step_fmt() {
  tcmd cargo fmt --all --check
}

step_clippy_linux() {
  tcmd cargo clippy --all-targets --locked -- -D warnings
}

step_clippy_windows() {
  tcmd cargo clippy --all-targets --locked --target "$WIN_TARGET" -- -D warnings
}

step_services() {
  local pid
  if pid=$(host_cron_pid); then
    log "cron is running (pid $pid)"
  else
    local cron_bin
    cron_bin=$(command -v cron || echo /usr/sbin/cron)
    # It forks into the background; its stdio must not hold our output open.
    show_cmd "$cron_bin"
    "${AS_ROOT[@]}" "$cron_bin" </dev/null >/dev/null 2>&1
    for _ in $(seq 50); do
      pid=$(host_cron_pid) && break
      sleep 0.1
    done
    [[ -n $pid ]] || die "cron did not start"
    STARTED_CRON_PID=$pid
    log "started cron (pid $pid; stopped at exit unless ORC_KEEP_CRON=1)"
  fi
  # A throwaway PostgreSQL server (Unix socket + TLS on 127.0.0.1); start.sh prints the
  # ORC_TEST_PG and ORC_TEST_PG_TLS lines. Stopped and removed at exit (cleanup).
  STARTED_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/orc-pg.XXXXXX")
  local urls line
  show_cmd bash scripts/pg/start.sh "$STARTED_PG_DIR"
  urls=$(bash scripts/pg/start.sh "$STARTED_PG_DIR")
  while IFS= read -r line; do
    [[ $line =~ ^ORC_TEST_PG(_TLS)?=postgres:// ]] || die "scripts/pg/start.sh printed: $line"
    export "$line"
  done <<<"$urls"
  # shellcheck source=lib/test-env.sh
  source scripts/lib/test-env.sh
  export ORC_TEST_FULL=1 RUST_BACKTRACE=1
  local v
  for v in ORC_TEST_FULL ORC_TEST_CHROMIUM ORC_TEST_PYTHON ORC_TEST_SQLITE3 ORC_TEST_CRONTAB \
    ORC_TEST_CRON_PID ORC_TEST_PG ORC_TEST_PG_TLS; do
    [[ -n ${!v:-} ]] || die "$v is empty: something the end-to-end tests need is missing"
    printf 'export %s=%q\n' "$v" "${!v}" >&2
  done
}

# Target selection, both platforms: `cargo test --no-run` builds lib, bins,
# integration tests and the test-helper binaries (fake_schtasks, orc_test_child:
# [[bin]] targets behind the `test-helpers` feature, which the self
# dev-dependency turns on whenever tests are built; tests find them through
# CARGO_BIN_EXE_*, see Cargo.toml). Any `cargo test` selection rebuilds them.
# The tests then run with `--tests` (lib, bins, integration tests), so that
# `--include-ignored` does not reach doc tests, whose ```ignore blocks usually
# do not compile.
step_build_linux() {
  tcmd cargo test --locked --no-run
}

step_test_linux() {
  : >"$LOG_DIR/test-linux.log"
  tcmd_log "$LOG_DIR/test-linux.log" \
    cargo test --tests --locked --no-fail-fast -- --include-ignored
}

# What only the SQLite store has, so these integration tests do not apply to PostgreSQL:
# `orc db backup/restore` (refused there: pg_dump's job) and the flows built on them, the
# database file itself (its bytes, permissions, integrity check, a fault injected with a
# SQLite trigger), and a fresh home's orc.db.
PG_NOT_APPLICABLE=(
  corpus:: exec_db::backup_then_restore_brings_the_old_state_back
  exec_db::restore_is_refused_while_a_task_runs exec_faults::execute_storm_200_by_16
  execute::a_result_the_database_refuses_goes_to_the_fallback_log home_security::
  install::home_init_creates_the_home_and_is_idempotent
  install::uninstall_without_yes_and_without_a_terminal_changes_nothing
  secrets::canary_leak_scan
)

step_test_postgres() {
  : >"$LOG_DIR/test-postgres.log"
  [[ -n ${ORC_TEST_PG:-} ]] || die "ORC_TEST_PG is not set (the services step starts the server)"
  local skips=() t
  for t in "${PG_NOT_APPLICABLE[@]}"; do skips+=(--skip "$t"); done
  tcmd_log "$LOG_DIR/test-postgres.log" env ORC_TEST_STORE=postgres \
    cargo test --test integration --locked --no-fail-fast -- "${skips[@]}"
}

# Doc tests run only where there is one: `cargo test --doc` of a crate with
# none still prints "0 passed", which would read as a run that tested nothing.
has_doctests() {
  [[ -d src ]] && grep -rqE '^[[:space:]]*//[/!].*```' src --include='*.rs'
}

step_doctest() {
  : >"$LOG_DIR/doctest.log"
  if ! has_doctests; then
    log "no doc-comment code blocks under src/: nothing to run"
    return 0
  fi
  tcmd_log "$LOG_DIR/doctest.log" cargo test --doc --locked --no-fail-fast
}

step_build_windows() {
  tcmd cargo test --locked --target "$WIN_TARGET" --no-run
}

step_wine_setup() {
  # shellcheck source=wine/env.sh
  source scripts/wine/env.sh
  WINE_USED=1
  tcmd bash scripts/wine/setup.sh
}

step_test_windows() {
  # shellcheck source=wine/env.sh
  source scripts/wine/env.sh
  WINE_USED=1
  local log=$LOG_DIR/test-windows.log rc=0
  : >"$log"
  # The Linux end-to-end environment does not exist for the Windows build.
  # Output goes to a file, not a pipe: a Wine process the tests start (conhost, a service)
  # can outlive them holding its inherited stdout, and a pipe would then never see EOF.
  tcmd env -u ORC_TEST_FULL -u ORC_TEST_CHROMIUM -u ORC_TEST_PYTHON -u ORC_TEST_SQLITE3 \
    -u ORC_TEST_CRONTAB -u ORC_TEST_CRON_PID -u ORC_TEST_PG -u ORC_TEST_PG_TLS \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER" \
    cargo test --tests --locked --target "$WIN_TARGET" --no-fail-fast >>"$log" 2>&1 || rc=$?
  # Stop Wine's server and services now; the EXIT trap does it on failure.
  WINEDEBUG=-all timeout 30 wineserver -k >/dev/null 2>&1 || true
  WINE_USED=0
  cat "$log"
  return "$rc"
}

printf 'scripts/test.sh in %s (CI=%s, CARGO_INCREMENTAL=%s, target dir %s)\n' \
  "$ROOT" "${CI:-}" "${CARGO_INCREMENTAL:-}" "$TARGET_DIR" >&2

step install step_install
step fmt step_fmt
step clippy-linux step_clippy_linux
step clippy-windows step_clippy_windows
step services step_services
step build-linux step_build_linux
step test-linux step_test_linux
step test-postgres step_test_postgres
step doctest step_doctest
step build-windows step_build_windows
step wine-setup step_wine_setup
step test-windows step_test_windows
