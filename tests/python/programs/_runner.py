"""Runs one differential program and prints, as JSON, everything the program observed.

Usage: python _runner.py anchor|pytables PROGRAM.py

`anchor` imports the real python-iptables (`import iptc`); `pytables` makes `import iptc` (and
`iptc.easy`, `iptc.ip4tc`, ...) resolve to pytables, so the program text is the same on both sides.
Programs record what they see with the helpers of _observe.py:

  obs(label, value)     record a value (rules, chains, tables, policies are turned into plain data)
  attempt(label, fn)    call fn(); record its value, or the exception's type and message
  rule_view(rule)       what a program reads from a Rule: addresses, protocol, matches, target ...
  chain_view(chain)     a chain's rules (and policy/counters for built-in chains)
  table_view(table)     every chain of a table, in `table.chains` order
  roundtrip(label, chain, build)  build a rule, append it, record built and read-back views

Must only ever run inside a throwaway network namespace (test_differential.py makes them).
"""

import json
import sys
import traceback

SIDE, PROGRAM = sys.argv[1], sys.argv[2]

if SIDE == "pytables":
    import pytables

    sys.modules["iptc"] = pytables
    for _sub in ("easy", "ip4tc", "ip6tc", "xtables", "errors", "util", "version"):
        sys.modules["iptc." + _sub] = getattr(pytables, _sub)
import iptc  # noqa: F401  (the side's module, before the program and _observe import it)


def main():
    import _observe

    with open(PROGRAM) as f:
        code = compile(f.read(), PROGRAM, "exec")
    try:
        exec(code, {"__name__": "__main__"})  # noqa: S102 - running the program is the point
    except Exception as e:
        _observe._records.append(["uncaught", _observe._exc(e)])
        traceback.print_exc()
    sys.stdout.write(json.dumps(_observe._records) + "\n")
    sys.stdout.flush()


main()
