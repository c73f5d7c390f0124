#!/usr/bin/env bash
# Parse benchmark: iptables-save printing a 100,000-rule ruleset vs pytables parsing it (and
# canonicalising every rule), both backends, in throwaway namespaces. Needs root.
# Writes bench/results/parse.md. Extra arguments go to the program: --rules N --runs N --out FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p pytables-netns --example parse_bench
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/examples/parse_bench" --out bench/results/parse.md "$@"
