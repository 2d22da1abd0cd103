#!/usr/bin/env bash
# Make this machine's Wine prefix able to run orc's x86_64-pc-windows-gnu
# executables, and prove it. Idempotent: about a second when already done.
#
#   bash scripts/wine/setup.sh             # prepare + probe, leaves wineserver running
#   bash scripts/wine/setup.sh --no-server # prepare + probe, then stop wineserver
#
# Needs (scripts/test.sh installs them): wine (Wine 8, Debian's wine + wine64),
# x86_64-w64-mingw32-gcc (gcc-mingw-w64-x86-64), rustup target x86_64-pc-windows-gnu.
#
# What it does:
#  1. builds the ProcessPrng shim (processprng.c -> bcryptprimitives.dll),
#     checking that the DLL exports the plain name ProcessPrng;
#  2. creates the prefix ($WINEPREFIX, default ~/.wine) if it does not exist;
#  3. copies the shim to $WINEPREFIX/drive_c/windows/system32/;
#  4. starts a wineserver that persists between test binaries, with Wine's
#     background processes (services.exe, explorer.exe, ...) writing to a log
#     file instead of holding our stdout/stderr open;
#  5. runs probe.rs (std start-up, randomness, cmd.exe exit code) under Wine.
# Stop the server afterwards with `wineserver -k` (scripts/test.sh does).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lib/common.sh
source "$ROOT/scripts/lib/common.sh"
# shellcheck source=env.sh
source "$HERE/env.sh"

keep_server=1
case "${1:-}" in
  "") ;;
  --no-server) keep_server=0 ;;
  *) die "usage: $0 [--no-server]" ;;
esac

WIN_TARGET=x86_64-pc-windows-gnu
OUT=${ORC_WINE_SHIM_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/wine-shim}
mkdir -p "$OUT"
LOG=$OUT/wine.log
: >"$LOG"

for tool in wine wineserver wineboot x86_64-w64-mingw32-gcc x86_64-w64-mingw32-objdump; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run scripts/test.sh, which installs it)"
done

# 1. The shim.
dll=$OUT/bcryptprimitives.dll
if [[ ! -s $dll || $HERE/processprng.c -nt $dll ]]; then
  run x86_64-w64-mingw32-gcc -shared -O2 -s -o "$dll" "$HERE/processprng.c" -ladvapi32
fi
# The export table is read whole first: `objdump | grep -q` under pipefail fails when grep
# stops reading early and objdump dies of SIGPIPE (seen intermittently).
exports=$(x86_64-w64-mingw32-objdump -p "$dll")
if ! grep -Eq '^[[:space:]]*\[ *[0-9]+\] ProcessPrng$' <<<"$exports"; then
  die "$dll does not export ProcessPrng (x86_64-w64-mingw32-objdump -p shows its export table)"
fi

# 2. The prefix. `wineboot -i` creates it (about 5-20 s); `wineserver -w` waits
#    until Wine has finished writing it.
if [[ ! -f $WINEPREFIX/system.reg || ! -d $WINEPREFIX/drive_c/windows/system32 ]]; then
  log "creating Wine prefix $WINEPREFIX (log: $LOG)"
  rc=0
  WINEARCH=win64 quietly "$LOG" timeout --kill-after=10 300 wineboot -i || rc=$?
  quietly "$LOG" timeout --kill-after=10 120 wineserver -w || rc=$?
  ((rc == 0)) || die "creating the Wine prefix failed or timed out (exit $rc)"
  [[ -d $WINEPREFIX/drive_c/windows/system32 ]] || die "no $WINEPREFIX/drive_c/windows/system32 after wineboot"
fi

# 3. Install the shim where Wine looks for system DLLs.
sys32=$WINEPREFIX/drive_c/windows/system32
if ! cmp -s "$dll" "$sys32/bcryptprimitives.dll"; then
  run cp "$dll" "$sys32/bcryptprimitives.dll"
fi

# 4. A wineserver that outlives each test binary (saves its start-up per test
#    binary) and exits by itself 300 s after the last Wine process, should
#    nobody run `wineserver -k`. Its stdio, and that of the Wine services the
#    next Wine process starts (the probe below), go to the log file: otherwise
#    they keep the caller's stdout/stderr open, which holds a CI step open.
if ! pgrep -u "$(id -u)" -x wineserver >/dev/null && ! pgrep -u "$(id -u)" -x wineserver64 >/dev/null; then
  show_cmd wineserver -p300
  wineserver -p300 </dev/null >>"$LOG" 2>&1
fi

# 5. Prove that a Rust .exe starts and works.
probe=$OUT/probe.exe
if [[ ! -s $probe || $HERE/probe.rs -nt $probe ]]; then
  run rustc --edition 2021 --target "$WIN_TARGET" -o "$probe" "$HERE/probe.rs" 2>>"$LOG" \
    || die "building the probe failed (is the rustup target $WIN_TARGET installed? see $LOG)"
fi
show_cmd wine "$probe"
rc=0
out=$(timeout --kill-after=10 120 wine "$probe" </dev/null 2>>"$LOG") || rc=$?
if [[ $rc -ne 0 || $out != "orc-wine-probe ok" ]]; then
  log "--- probe output: $out"
  log "--- last 20 lines of $LOG:"
  tail -n 20 "$LOG" >&2 || true
  case $rc in
    124 | 137) die "the probe timed out under Wine" ;;
    53) die "the probe could not start (exit 53 = a DLL or import missing; is the ProcessPrng shim in $sys32?)" ;;
    *) die "the probe failed under Wine (exit $rc)" ;;
  esac
fi
log "$out ($(wine --version 2>/dev/null), prefix $WINEPREFIX)"

if ((keep_server == 0)); then
  wineserver -k || true
fi
