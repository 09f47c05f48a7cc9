#!/usr/bin/env bash
# Every check of the project, with its own set-up: formatting, lints, then all tests (runtime unit
# tests, expansion snapshots, compile-fail cases, black-box tests on 127.0.0.1, doctests, the
# examples' own tests, the cluster tests against a real redis-server and a real Redis Cluster,
# the JS client's unit tests, and the browser tests of the examples' pages in Debian's headless
# Chromium). CI runs exactly this (see .ci/run); so should you before pushing.
set -euo pipefail
cd "$(dirname "$0")/.."

# This machine kind has 2 cores; more jobs only thrash.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

step() { printf '\n== %s ==\n' "$*"; }

if ! command -v cargo >/dev/null; then
    echo "cargo not found: install Rust (stable) with rustup first" >&2
    exit 1
fi
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        step "installing $component"
        rustup component add "$component"
    fi
done

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (set-up: Debian's redis-server for the cluster tests)"
bash scripts/redis-setup.sh
cargo test --workspace

step "JS client unit tests"
node --test examples/mining/static/websocket.test.mjs

step "browser tests (Debian's headless Chromium)"
bash scripts/browser-setup.sh
cargo build --examples
WSENDPOINT_EXAMPLES_DIR="${CARGO_TARGET_DIR:-target}/debug/examples" npm test --prefix tests/browser
