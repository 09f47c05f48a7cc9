#!/usr/bin/env bash
# Profiles one server under one load-generator scenario, for finding hot spots in the runtime.
#
#   bench/tools/profile.sh perf SERVER [LOADGEN ARGS]   # perf record of the server (cpu-clock, DWARF stacks)
#   bench/tools/profile.sh dhat SERVER [LOADGEN ARGS]   # valgrind DHAT: who holds the heap at its peak
#
#   bench/tools/profile.sh perf server-wsendpoint --scenario echo --warmup-ms 1000 --duration-ms 5000
#   bench/tools/profile.sh perf server-axum-tuned --scenario fanout --sessions 10000 --rounds 60
#   bench/tools/profile.sh dhat server-wsendpoint --scenario idle --counts 1000 --settle-ms 3000
#
# Builds a release variant with line tables in "${CARGO_TARGET_DIR:-target}-profile", pins the server
# to core 0 and the load generator to core 1, and writes bench/results/profile/: the raw data, a flat
# report and, via attribute.py, the cost attributed to the innermost line of the runtime (or of the
# baselines) on each stack. Needs perf (apt-get install linux-perf) or valgrind, and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?perf or dhat}
server=${2:?server binary, e.g. server-wsendpoint}
shift 2
[ $# -gt 0 ] || set -- --scenario echo --warmup-ms 1000 --duration-ms 5000
target="${CARGO_TARGET_DIR:-$PWD/target}-profile"
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_TARGET_DIR="$target" \
    cargo build --release -p wsendpoint-bench --bins -j "${CARGO_BUILD_JOBS:-2}"
bin="$target/release"
out=bench/results/profile
mkdir -p "$out"
stamp="$server.$(date +%H%M%S)"

wait_listening() { # file -> address
    for _ in $(seq 100); do
        if grep -q '^listening ' "$1"; then awk '/^listening /{print $2; exit}' "$1"; return; fi
        sleep 0.1
    done
    echo "the server did not start" >&2; exit 1
}

case "$mode" in
perf)
    taskset -c 0 "$bin/$server" --port 0 >"$out/$stamp.server.out" 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null || true' EXIT
    addr=$(wait_listening "$out/$stamp.server.out")
    taskset -c 1 "$bin/loadgen" --addr "$addr" --server-pid "$pid" "$@" >"$out/$stamp.loadgen.json" &
    loadgen=$!
    sleep "${PROFILE_DELAY:-2}"
    taskset -c 1 perf record -F 499 --call-graph dwarf,32768 -p "$pid" -o "$out/$stamp.perf.data" \
        -- sleep "${PROFILE_SECONDS:-3}" 2>/dev/null
    wait "$loadgen"
    { perf report -i "$out/$stamp.perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null \
        | grep -v -e '^#' -e '^$' | head -60 >"$out/$stamp.flat.txt"; } || true
    perf script -i "$out/$stamp.perf.data" -F ip,sym,srcline --inline --full-source-path 2>/dev/null \
        >"$out/$stamp.script"
    python3 bench/tools/attribute.py "$out/$stamp.script" >"$out/$stamp.lines.txt"
    echo "wrote $out/$stamp.{perf.data,flat.txt,lines.txt,loadgen.json}"
    cat "$out/$stamp.lines.txt"
    ;;
dhat)
    valgrind --tool=dhat --dhat-out-file="$out/$stamp.dhat.json" "$bin/$server" --port 0 \
        >"$out/$stamp.server.out" 2>"$out/$stamp.valgrind.txt" &
    pid=$!
    addr=$(wait_listening "$out/$stamp.server.out")
    "$bin/loadgen" --addr "$addr" --server-pid "$pid" "$@" >"$out/$stamp.loadgen.json"
    kill -TERM "$pid"
    wait "$pid" || true
    python3 bench/tools/attribute.py --dhat "$out/$stamp.dhat.json" | tee "$out/$stamp.heap.txt"
    ;;
*)
    echo "usage: $0 perf|dhat SERVER [LOADGEN ARGS]" >&2
    exit 2
    ;;
esac
