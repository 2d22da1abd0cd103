# shellcheck shell=bash
# Source this file to run orc's Windows build under Wine by hand:
#
#   source scripts/wine/env.sh
#   bash scripts/wine/setup.sh          # once per machine/prefix (idempotent, ~1 s when done)
#   cargo test --target x86_64-pc-windows-gnu --test integration some_test -- --exact
#   wineserver -k                       # when done (Wine's daemons otherwise linger)
#
# or simply: bash scripts/wine/cargo-test.sh --test integration some_test -- --exact
#
# Values already set in the environment win.

# The Wine prefix (a fake C: drive plus registry). Created on first use.
export WINEPREFIX="${WINEPREFIX:-$HOME/.wine}"
# Silence Wine's own diagnostics (fixme:/err: lines). Use WINEDEBUG=err+all or
# +seh,+loaddll etc. when debugging a crash.
export WINEDEBUG="${WINEDEBUG:--all}"
# mscoree/mshtml disabled: no wine-mono / wine-gecko install prompt (no network,
# no display). bcryptprimitives=n,b: load our ProcessPrng shim (native) first.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=;bcryptprimitives=n,b}"
# cargo runs every x86_64-pc-windows-gnu test/bin through this.
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="${CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER:-wine}"
# Tells orc's tests they run under Wine (Wine passes the Unix environment on
# to Windows processes).
export ORC_TEST_WINE=1
