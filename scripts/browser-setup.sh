#!/usr/bin/env bash
# Set-up of the browser tests (tests/browser/), safe to run again: Debian's Chromium at
# /usr/bin/chromium, Node.js >= 20 with npm, and the locked npm packages (playwright-core, which
# drives that Chromium; it never downloads a browser of its own). Reaches only Debian's archive
# (for what is missing) and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'browser-setup: %s\n' "$*"; }
source scripts/lib/apt.sh

if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's chromium"
    apt_install chromium
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "installing Debian's nodejs and npm"
    apt_install nodejs npm
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    say "Node.js $(node --version) is too old: the browser tests need Node.js 20 or later" >&2
    exit 1
fi

# npm ci wipes and reinstalls node_modules; skip it when the installed tree is the locked one.
installed=tests/browser/node_modules/.package-lock.json
if [ -f "$installed" ] && [ "$installed" -nt tests/browser/package-lock.json ] \
    && [ "$installed" -nt tests/browser/package.json ]; then
    say "npm packages up to date"
else
    say "npm ci --prefix tests/browser"
    npm ci --prefix tests/browser --no-audit --no-fund
fi

say "ready: $(/usr/bin/chromium --product-version 2>/dev/null || echo chromium), node $(node --version)"
