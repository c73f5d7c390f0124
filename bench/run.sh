#!/usr/bin/env bash
# Every benchmark, one after the other (`make bench`). Each runs in throwaway network namespaces,
# measures its anchors in the same run, and writes a markdown table under bench/results/.
#   parse.sh   parsing + canonicalising a 100,000-rule save file vs iptables-save printing it
#   server.sh  autocommit insert latency, 8-client throughput, server RSS vs raw iptables
#   python.sh  reading a 10,000-rule chain through the Python API vs python-iptables and iptables-save
set -euo pipefail
cd "$(dirname "$0")"
for b in parse server python; do
  echo "== bench/$b.sh"
  bash "./$b.sh"
done
