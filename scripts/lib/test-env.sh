# shellcheck shell=bash
# Source this to get the environment that scripts/test.sh gives orc's tests,
# e.g. to run one ignored end-to-end test by hand after a full run of test.sh
# (which installs everything and starts cron):
#
#   source scripts/lib/test-env.sh
#   cargo test --test integration some_e2e_test -- --include-ignored --exact
#
# It only sets variables (it installs and starts nothing). Each is left unset
# when the thing it points to is missing, so a test can tell "not here".
#
#   ORC_TEST_FULL=1        set by scripts/test.sh only: every real part below is
#                          present and running; an ignored end-to-end test that
#                          finds one missing should fail, not skip.
#   ORC_TEST_CHROMIUM      headless browser for DOM/screenshot tests of HTML
#                          reports (/usr/bin/chromium on Debian). Running as root
#                          needs --no-sandbox; always pass --headless.
#   ORC_TEST_PYTHON        absolute path of a python3 that has aiosmtpd
#                          (start an SMTP server: $ORC_TEST_PYTHON -m aiosmtpd -n -l 127.0.0.1:PORT)
#   ORC_TEST_SQLITE3       the sqlite3 shell, to inspect databases orc writes
#   ORC_TEST_CRONTAB       the crontab command
#   ORC_TEST_CRON_PID      pid of the running cron daemon (set only while one runs)
#   ORC_TEST_PG            set by scripts/test.sh only (it starts the server): URL of a
#                          throwaway PostgreSQL database over its Unix socket;
#   ORC_TEST_PG_TLS        the same database over TCP on 127.0.0.1, TLS required
#                          (scripts/pg/start.sh DIR prints both; see scripts/pg/README.md)
#   ORC_TEST_STORE         `postgres`: every integration-test home joined to a schema of its
#                          own on ORC_TEST_PG (the test-postgres step; support/pg.rs)

_orc_first_cmd() {
  local c p
  for c in "$@"; do
    if p=$(command -v "$c" 2>/dev/null) && [[ -x $p ]]; then
      printf '%s' "$p"
      return 0
    fi
    if [[ -x /usr/sbin/$c ]]; then
      printf '%s' "/usr/sbin/$c"
      return 0
    fi
  done
  return 1
}

_orc_export_or_unset() { # NAME VALUE
  if [[ -n $2 ]]; then export "$1=$2"; else unset "$1"; fi
}

_orc_export_or_unset ORC_TEST_CHROMIUM \
  "${ORC_TEST_CHROMIUM:-$(_orc_first_cmd chromium google-chrome-stable google-chrome || true)}"
# The interpreter itself, not a pyenv shim (a shim is slower and depends on the cwd).
_orc_export_or_unset ORC_TEST_PYTHON \
  "${ORC_TEST_PYTHON:-$(python3 -c 'import aiosmtpd, sys; print(sys.executable)' 2>/dev/null || true)}"
_orc_export_or_unset ORC_TEST_SQLITE3 "${ORC_TEST_SQLITE3:-$(_orc_first_cmd sqlite3 || true)}"
_orc_export_or_unset ORC_TEST_CRONTAB "${ORC_TEST_CRONTAB:-$(_orc_first_cmd crontab || true)}"
_orc_export_or_unset ORC_TEST_CRON_PID "$(host_cron_pid || true)"
unset -f _orc_first_cmd _orc_export_or_unset
