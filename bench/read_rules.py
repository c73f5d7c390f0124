"""Reads a big chain through a python-iptables style API and touches every attribute.

Run inside the benchmark's network namespace by bench/python.sh, once with python-iptables
(`--impl iptc`) and once with pytables (`--impl pytables`), so both are timed in the same run.
Prints one JSON line: medians and every sample, in milliseconds.
"""

import argparse
import json
import statistics
import sys
import time


def touch_rule(rule):
    """Reads every attribute a program could ask of a rule; returns a small checksum."""
    n = 0
    for value in (rule.src, rule.dst, rule.protocol, rule.in_interface, rule.out_interface):
        n += len(value or "")
    if rule.nfproto == 2:
        n += bool(rule.fragment)
    n += sum(rule.counters)
    for match in rule.matches:
        n += len(match.name)
        n += len(match.parameters)
        n += len(match.get_all_parameters())
    target = rule.target
    if target is not None:
        n += len(target.name) + bool(target.goto)
        try:
            n += len(target.parameters)
        except AttributeError:
            pass  # standard targets have no save routine: python-iptables raises here
        n += len(target.get_all_parameters())
    return n


def read_chain(iptc, table_name, chain_name):
    table = iptc.Table(table_name)
    table.refresh()
    chain = iptc.Chain(table, chain_name)
    rules = chain.rules
    checksum = sum(touch_rule(r) for r in rules)
    return len(rules), checksum


class _Plain:
    """An object whose attributes are all C-level: instance values, no properties."""


class _PlainStdTarget:
    """A standard target: no `parameters` attribute, so reading it raises AttributeError."""


def plain_copy(rules):
    """The rules as plain objects holding the same values (`get_all_parameters` is a bound
    `dict.copy`): what touch_rule costs when nothing but CPython's own attribute machinery runs,
    the floor under any implementation of these objects."""

    def ext(obj, cls, parameters):
        plain = cls()
        plain.name = obj.name
        if parameters is not None:
            plain.parameters = parameters
        plain.get_all_parameters = obj.get_all_parameters().copy
        return plain

    out = []
    for rule in rules:
        plain = _Plain()
        plain.src, plain.dst, plain.protocol = rule.src, rule.dst, rule.protocol
        plain.in_interface, plain.out_interface = rule.in_interface, rule.out_interface
        plain.nfproto = rule.nfproto
        if rule.nfproto == 2:
            plain.fragment = rule.fragment
        plain.counters = rule.counters
        plain.matches = [ext(m, _Plain, m.parameters) for m in rule.matches]
        target = rule.target
        if target is not None:
            try:
                parameters = target.parameters
            except AttributeError:
                parameters = None
            t = ext(target, _Plain if parameters is not None else _PlainStdTarget, parameters)
            t.goto = target.goto
            target = t
        plain.target = target
        out.append(plain)
    return out


def floor(iptc, table_name, chain_name, runs):
    """touch_rule over plain copies of the rules pytables read (copied outside the timed region)."""
    table = iptc.Table(table_name)
    table.refresh()
    plain = plain_copy(iptc.Chain(table, chain_name).rules)
    return timed(runs, lambda: (len(plain), sum(touch_rule(r) for r in plain)))


def dump_table(iptc, table_name):
    dump = iptc.easy.dump_table(table_name)
    return sum(len(rules) for rules in dump.values()), len(json.dumps(dump, default=str))


def insert_rules(iptc, table_name, chain_name, count):
    """Autocommit inserts at the top of the big chain, one by one: median ms each (the first two
    left out) and the samples. Then takes them out again, untimed, so the chain is as before."""
    chain = iptc.Chain(iptc.Table(table_name), chain_name)
    samples, added = [], []
    for i in range(count):
        rule = iptc.Rule()
        rule.src = "198.18.%d.%d" % (i // 256, i % 256)
        rule.create_target("DROP")
        start = time.perf_counter()
        chain.insert_rule(rule)
        samples.append((time.perf_counter() - start) * 1000.0)
        added.append(rule)
    for rule in added:
        chain.delete_rule(rule)
    return statistics.median(samples[2:]), samples


def timed(runs, fn):
    """Median wall time, the samples, the result, and the median CPU time of this process (less
    disturbed by other load on a shared machine; it leaves out the server's share)."""
    samples, cpu, result = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return statistics.median(samples), samples, result, statistics.median(cpu)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", choices=["iptc", "pytables"], required=True)
    parser.add_argument("--table", default="filter")
    parser.add_argument("--chain", default="BENCH")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    if args.impl == "iptc":
        import iptc
        import iptc.easy  # python-iptables does not import it for you
    else:
        import pytables as iptc

    # One warm-up read: the pytables server start (autostart) and extension loading are not the
    # steady state a long-running program sees.
    read_chain(iptc, args.table, args.chain)
    read_ms, read_samples, (rules, checksum), read_cpu_ms = timed(
        args.runs, lambda: read_chain(iptc, args.table, args.chain)
    )
    dump_ms, dump_samples, (dumped, size), dump_cpu_ms = timed(
        args.runs, lambda: dump_table(iptc, args.table)
    )
    insert_ms, insert_samples = insert_rules(iptc, args.table, args.chain, max(args.runs, 5) + 2)
    extra = {"insert_ms": insert_ms, "insert_samples": insert_samples}
    if args.impl == "pytables":
        floor_ms, _, (floor_rules, floor_checksum), floor_cpu_ms = floor(
            iptc, args.table, args.chain, args.runs
        )
        extra |= {
            "floor_ms": floor_ms,
            "floor_cpu_ms": floor_cpu_ms,
            "floor_same": floor_rules == rules and floor_checksum == checksum,
        }
    json.dump(
        {
            "impl": args.impl,
            "rules": rules,
            "checksum": checksum,
            "read_ms": read_ms,
            "read_samples": read_samples,
            "read_cpu_ms": read_cpu_ms,
            "dump_ms": dump_ms,
            "dump_samples": dump_samples,
            "dump_cpu_ms": dump_cpu_ms,
            "dumped_rules": dumped,
            "dump_chars": size,
            **extra,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
