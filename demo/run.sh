#!/usr/bin/env bash
# The main job, for now: the core at work on real iptables inside a throwaway namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./target/release/pytables demo "$@"
