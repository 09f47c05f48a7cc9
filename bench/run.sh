#!/usr/bin/env bash
# The benchmark in one command: build every binary of wsendpoint-bench in release mode, then run
# the orchestrator with the given arguments (see BENCHMARKS.md, or `bench/run.sh --help`).
#
#   bench/run.sh            # full run: 5 repetitions, writes BENCHMARKS.md's results, the SVG, the JSON
#   bench/run.sh --quick    # smoke run: 1 repetition, small counts
#
# Measure on a quiet machine: the script warns when the 1-minute load average is 0.6 or more.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -p wsendpoint-bench --bins -j "${CARGO_BUILD_JOBS:-2}"
exec "$target/release/bench" "$@"
