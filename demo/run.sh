#!/usr/bin/env bash
# The main job: pytables-server in a throwaway network namespace, several clients at once
# (python-iptables programs through `import pytables as iptc`, shell loops through
# `pytables exec`) changing the same tables; then what each did, the audit log, the final
# ruleset, and a check against iptables-save that nothing was lost.
#
# Runs on each backend in PYTABLES_BACKEND (default: legacy and nft). DEMO_ROUNDS sets the rules
# per client (default 20). PYTABLES_BIN_DIR picks the binaries (default ./target/release).
# The host's own firewall is never touched: everything runs inside the namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${PYTABLES_BIN_DIR:-./target/release}
PY=.venv/bin/python
ROUNDS=${DEMO_ROUNDS:-20}
BACKENDS=${PYTABLES_BACKEND:-legacy nft}

if [[ $(id -u) != 0 ]]; then
  echo "the demo makes a network namespace: run it as root" >&2
  exit 2
fi
for b in pytables pytables-server; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b: run \`make dev\` first" >&2; exit 2; }
done
BIN=$(cd "$BIN" && pwd)
USE_PYTHON=1
if ! [[ -x $PY ]] || ! $PY -c 'import pytables' 2>/dev/null; then
  echo "note: .venv has no usable pytables package; running the CLI clients only" >&2
  USE_PYTHON=0
fi

NS=""
SERVER_PID=""
WORK=$(mktemp -d /tmp/pytables-demo.XXXXXX)
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [[ -n $NS ]] && ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

in_ns() { ip netns exec "$NS" "$@"; }
pt() { in_ns "$BIN/pytables" "$@"; }
rule() { printf '%*s\n' 78 '' | tr ' ' "${1:--}"; }

# One shell client: the same mix as demo/py_client.py, each change one `pytables exec`.
cli_client() {
  local name=$1 idx=$2 count=$3 out=$4
  local -a alive=() nat=()
  local app=0 ins=0 del=0 start i src
  start=$(date +%s.%N)
  for ((i = 0; i < count; i++)); do
    src="10.$idx.$((i / 250)).$((i % 250 + 1))"
    if ((i % 3 == 0)); then
      pt exec -- -I DEMO 1 -s "$src" -p tcp --dport $((1000 + i)) -m comment --comment "$name" -j ACCEPT
      ins=$((ins + 1))
    else
      pt exec -- -A DEMO -s "$src" -p tcp --dport $((1000 + i)) -m comment --comment "$name" -j ACCEPT
      app=$((app + 1))
    fi
    alive+=("$i $src")
    if ((i % 10 == 9)); then
      pt exec -- -t nat -A DEMO-NAT -s "$src" -o eth0 -m comment --comment "$name" -j MASQUERADE
      nat+=("$src")
    fi
    if ((i % 5 == 4)); then
      # Delete an earlier rule of ours, written as a person would (no /32, no -m tcp).
      local k=$((${#alive[@]} - 3)) j old
      read -r j old <<<"${alive[$k]}"
      pt exec -- -D DEMO -s "$old" -p tcp --dport $((1000 + j)) -m comment --comment "$name" -j ACCEPT
      alive=("${alive[@]:0:k}" "${alive[@]:k+1}")
      del=$((del + 1))
    fi
  done
  : >"$out"
  for a in "${alive[@]}"; do echo "DEMO ${a#* }/32" >>"$out"; done
  for s in "${nat[@]}"; do echo "DEMO-NAT $s/32" >>"$out"; done
  printf '%6s (shell, pytables exec): %d appended, %d inserted at the top, %d deleted, %d nat rules; %d should remain (%.2fs)\n' \
    "$name" "$app" "$ins" "$del" "${#nat[@]}" $((${#alive[@]} + ${#nat[@]})) "$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')"
}

# Sources per client and chain in the kernel's own iptables-save output.
found_rules() {
  local save=$1 name=$2
  awk -v tag="--comment $name " '
    /^-A DEMO(-NAT)? / && index($0, tag) {
      for (i = 1; i <= NF; i++) if ($i == "-s") print $2, $(i + 1)
    }' "$save" | sort
}

demo_backend() {
  local backend=$1 failed=0
  NS="pt-demo-$backend-$$"
  ip netns add "$NS"
  in_ns ip link set lo up
  # `ip netns exec` execs the server, so $! is the server itself.
  ip netns exec "$NS" "$BIN/pytables-server" --backend "$backend" >"$WORK/server-$backend.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do pt status >/dev/null 2>&1 && break; sleep 0.1; done
  pt status >/dev/null || { cat "$WORK/server-$backend.log"; return 1; }

  rule =
  echo "backend $backend: pytables-server pid $SERVER_PID in namespace $NS"
  rule =
  pt exec -- -N DEMO
  pt exec -- -A INPUT -j DEMO
  pt exec -- -t nat -N DEMO-NAT
  pt exec -- -t nat -A POSTROUTING -j DEMO-NAT

  local -a names=() pids=()
  if ((USE_PYTHON)); then names+=(py-1 py-2); fi
  names+=(sh-1 sh-2)
  echo "${#names[@]} clients at once, $ROUNDS rounds each, all on filter/DEMO and nat/DEMO-NAT:"
  local idx=0 name
  for name in "${names[@]}"; do
    idx=$((idx + 1))
    if [[ $name == py-* ]]; then
      in_ns "$PY" demo/py_client.py "$name" "$idx" "$ROUNDS" "$WORK/$name.expected" &
    else
      cli_client "$name" "$idx" "$ROUNDS" "$WORK/$name.expected" &
    fi
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || echo "!! a client failed (see above)"

  echo
  rule
  echo "audit log: every transaction, who sent it, what came of it"
  rule
  pt log --json >"$WORK/log.json"
  python3 - "$WORK/log.json" <<'EOF'
import collections, json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
per = collections.defaultdict(collections.Counter)
for e in entries:
    prog = e["program"].split()
    who = next((w for w in prog if w.startswith(("py-", "sh-"))), None)
    if who is None and "--comment" in prog:
        who = prog[prog.index("--comment") + 1]
    key = (who or "setup", "python" if "python" in prog[0] else prog[0].rsplit("/", 1)[-1])
    per[key]["ok" if e["result"] == "ok" else "refused"] += 1
    per[key]["ops"] += len(e["ops"])
print(f"{len(entries)} transactions")
print(f"  {'client':<8} {'program':<9} {'ok':>4} {'refused':>8} {'ops':>5}")
for (who, prog), c in sorted(per.items()):
    print(f"  {who:<8} {prog:<9} {c['ok']:>4} {c['refused']:>8} {c['ops']:>5}")
EOF
  echo "last entries (pytables log):"
  pt log | tail -n 12 | sed 's/^/  /'

  echo
  rule
  echo "pytables status"
  rule
  pt status | sed -n '1,/^$/p;/^family/,/^$/p'

  echo
  rule
  echo "final ruleset (pytables save)"
  rule
  pt save

  echo
  rule
  echo "check: what each client expects vs the kernel's own ${backend} iptables-save"
  rule
  local save="$WORK/kernel-$backend.save"
  in_ns "iptables-$backend-save" >"$save"
  printf '  %-8s %9s %7s %6s %11s\n' client expected found lost unexpected
  local total_exp=0 total_found=0 lost unexpected
  for name in "${names[@]}"; do
    sort "$WORK/$name.expected" >"$WORK/$name.exp.sorted"
    found_rules "$save" "$name" >"$WORK/$name.found"
    lost=$(comm -23 "$WORK/$name.exp.sorted" "$WORK/$name.found" | wc -l)
    unexpected=$(comm -13 "$WORK/$name.exp.sorted" "$WORK/$name.found" | wc -l)
    printf '  %-8s %9d %7d %6d %11d\n' "$name" "$(wc -l <"$WORK/$name.expected")" \
      "$(wc -l <"$WORK/$name.found")" "$lost" "$unexpected"
    total_exp=$((total_exp + $(wc -l <"$WORK/$name.expected")))
    total_found=$((total_found + $(wc -l <"$WORK/$name.found")))
    ((lost == 0 && unexpected == 0)) || failed=1
  done
  local kernel_rules
  kernel_rules=$(grep -c '^-A DEMO' "$save" || true)
  if ((failed == 0 && total_found == total_exp && kernel_rules == total_exp)); then
    echo "OK ($backend): nothing lost — $total_exp rules expected, iptables-save shows $kernel_rules in DEMO and DEMO-NAT"
  else
    echo "FAILED ($backend): expected $total_exp rules, iptables-save shows $kernel_rules"
    failed=1
  fi

  echo
  rule
  echo "persist, then apply the saved file again: it already matches, so no change"
  rule
  pt persist "$WORK/rules-$backend.v4" | sed 's/^/  /'
  local again
  again=$(pt apply "$WORK/rules-$backend.v4" 2>/dev/null)
  if [[ -z $again ]]; then echo "  pytables apply: no changes"; else echo "$again"; failed=1; fi

  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  ip netns del "$NS"
  NS=""
  echo
  return $failed
}

status=0
for backend in $BACKENDS; do
  demo_backend "$backend" || status=1
done
exit $status
