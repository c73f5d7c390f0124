#!/bin/sh
# Server benchmark: latency of one autocommit insert into a 10,000-rule chain next to a raw
# iptables-restore of the same change; 8 clients x 100 inserts next to 8 shell loops of
# `iptables -w`; server RSS with 100,000 rules. Both backends (PYTABLES_BACKEND narrows), in
# throwaway network namespaces. Writes bench/results/server.md.
# Usage: bench/server.sh [runs]   (as root)
set -eu
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p pytables-server --bin pytables-server --example server_bench
BIN="$CARGO_TARGET_DIR/release/pytables-server"
BENCH="$CARGO_TARGET_DIR/release/examples/server_bench"
BACKENDS="${PYTABLES_BACKEND:-legacy nft}"
OUT=bench/results/server.md
mkdir -p bench/results
{
    echo "# pytables-server benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r), $(iptables --version 2>/dev/null | head -1)."
    echo "Median over $RUNS runs (latency: median of 35 interleaved samples per run, after 5 warm-up)."
    echo "Ratio = pytables-server / anchor (latency: lower is better; throughput: higher is better)."
    echo
    echo "| backend | measure | pytables-server | anchor (same run) | ratio |"
    echo "|---|---|---|---|---|"
    for b in $BACKENDS; do
        "$BENCH" "$BIN" "$b" "$RUNS"
    done
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
