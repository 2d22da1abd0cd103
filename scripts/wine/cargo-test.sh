#!/usr/bin/env bash
# Run orc's tests for x86_64-pc-windows-gnu under Wine, by hand:
#
#   bash scripts/wine/cargo-test.sh                                  # the whole suite
#   bash scripts/wine/cargo-test.sh --lib some::module               # unit tests matching a filter
#   bash scripts/wine/cargo-test.sh --test integration name -- --exact --nocapture
#
# Arguments go to `cargo test --target x86_64-pc-windows-gnu`. Prepares the
# prefix (scripts/wine/setup.sh) and stops wineserver afterwards.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
source "$HERE/env.sh"
bash "$HERE/setup.sh"
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT
cd "$HERE/../.."
set -x
cargo test --target x86_64-pc-windows-gnu "$@"
