#!/usr/bin/env bash
# Set-up of the cluster tests, safe to run again: Debian's redis-server, which each cluster test
# starts on a Unix socket of its own (tests/endpoints/redis_server.rs), or as three Redis Cluster
# nodes joined with redis-cli (its dependency redis-tools; tests/endpoints/redis_cluster.rs).
# Reaches only Debian's archive, and only when one of them is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt.sh

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "redis-setup: installing Debian's redis-server"
    apt_install redis-server
    # The package starts a system-wide server on port 6379; the tests start their own.
fi
echo "redis-setup: ready: $(redis-server --version | cut -d' ' -f1-3)"
