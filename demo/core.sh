#!/usr/bin/env bash
# The core at work on real iptables, without the server: in a throwaway namespace per backend
# (PYTABLES_BACKEND=legacy|nft narrows it), load a ruleset, parse iptables-save (byte-identical
# round trip), canonicalise a target ruleset, diff, apply the diff with
# iptables-restore --noflush, and check iptables-save now equals the target. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -q -p pytables-netns --example core_demo "$@"
