"""One demo client: a python-iptables program, unchanged but for the import.

Usage: py_client.py NAME INDEX COUNT EXPECTED_FILE

Adds COUNT rules to filter/DEMO (every third one inserted at the top, the rest appended), each
tagged with the comment NAME; every fifth round it deletes one of its own earlier rules; every
tenth it also adds a nat rule to nat/DEMO-NAT in the same transaction as the filter rule (one
transaction across two tables). Writes what it expects to survive to EXPECTED_FILE, one
`CHAIN SOURCE` line per rule.
"""

import os
import sys
import time

import pytables as iptc
from pytables.helpers import iptc_command


def make_rule(name, src, port):
    rule = iptc.Rule()
    rule.src = src
    rule.protocol = "tcp"
    rule.create_match("tcp").dport = str(port)
    rule.create_match("comment").comment = name
    rule.target = iptc.Target(rule, "ACCEPT")
    return rule


def main():
    name, index, count, expected_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    alive = []
    nat_alive = []
    done = {"appended": 0, "inserted": 0, "deleted": 0, "nat": 0}
    start = time.monotonic()

    @iptc_command()
    def add(i, src, with_nat):
        filt = iptc.Table(iptc.Table.FILTER, autocommit=False)
        yield filt
        chain = iptc.Chain(filt, "DEMO")
        rule = make_rule(name, src, 1000 + i)
        if i % 3 == 0:
            chain.insert_rule(rule)
        else:
            chain.append_rule(rule)
        if with_nat:
            nat = iptc.Table(iptc.Table.NAT, autocommit=False)
            yield nat
            nrule = iptc.Rule()
            nrule.src = src
            nrule.out_interface = "eth0"
            nrule.create_match("comment").comment = name
            nrule.target = iptc.Target(nrule, "MASQUERADE")
            iptc.Chain(nat, "DEMO-NAT").append_rule(nrule)
        return True

    @iptc_command()
    def delete(i, src):
        filt = iptc.Table(iptc.Table.FILTER, autocommit=False)
        yield filt
        # A rule built by hand (`-s` without /32, no explicit tcp match) finds the kernel's.
        iptc.Chain(filt, "DEMO").delete_rule(make_rule(name, src, 1000 + i))
        return True

    for i in range(count):
        src = f"10.{index}.{i // 250}.{i % 250 + 1}"
        with_nat = i % 10 == 9
        if not add(i, src, with_nat):
            sys.exit(f"{name}: adding {src} failed")
        alive.append((i, src))
        done["inserted" if i % 3 == 0 else "appended"] += 1
        done["nat"] += with_nat
        if with_nat:
            nat_alive.append(src)
        if i % 5 == 4:
            j, old = alive.pop(-3)
            if not delete(j, old):
                sys.exit(f"{name}: deleting {old} failed")
            done["deleted"] += 1
    elapsed = time.monotonic() - start
    with open(expected_file, "w") as f:
        f.writelines(f"DEMO {src}/32\n" for _, src in alive)
        f.writelines(f"DEMO-NAT {src}/32\n" for src in nat_alive)
    print(
        f"{name:>6} (python, pid {os.getpid()}): {done['appended']} appended, "
        f"{done['inserted']} inserted at the top, {done['deleted']} deleted, {done['nat']} nat rules "
        f"in the same transactions; {len(alive) + len(nat_alive)} should remain ({elapsed:.2f}s)"
    )


if __name__ == "__main__":
    main()
