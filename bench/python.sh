#!/usr/bin/env bash
# Python face benchmark (see bench/python_bench.py). Needs root and `make dev` (the .venv with
# pytables). Installs python-iptables, the anchor, into bench/.venv-anchor on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x bench/.venv-anchor/bin/python ]]; then
  python3 -m venv bench/.venv-anchor
  bench/.venv-anchor/bin/pip install -q python-iptables
fi
exec .venv/bin/python bench/python_bench.py "$@"
