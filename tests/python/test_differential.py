"""Differential tests: the same python-iptables program, run by python-iptables and by pytables.

Each file tests/python/programs/<name>.py is a small program written for python-iptables (`import
iptc`). It runs in fresh network namespaces, once per side:

- anchor: the real python-iptables 1.2.0 (bench/.venv-anchor, libiptc, legacy backend);
- pytables on the legacy backend (`.venv/bin/python`, `import iptc` resolves to pytables, which
  autostarts its server in the namespace);
- pytables on the nf_tables backend.

programs/_runner.py executes the program and prints what it observed (rules read back, chains,
policies, counters, exceptions with type and message) as JSON. After the program, the namespace's
`iptables-legacy-save`/`ip6tables-legacy-save` of every table (comments and counters stripped) is
taken too.

With PYTABLES_BACKEND=legacy (the default) a test asserts that pytables on legacy observed exactly
what python-iptables observed and left the same ruleset in the kernel. With PYTABLES_BACKEND=nft it
asserts that pytables on nf_tables observed what pytables on legacy observed (python-iptables cannot
see nf_tables).

Allowed differences, all from docs/MIGRATING.md: an exception message of pytables may add a reason
in parentheses after python-iptables' text (#1, #10). Anything else a program header declares:

    # setup: <command>          run inside each namespace before the program (e.g. ipset create)
    # documented: <label> <why> the observation <label> is a difference MIGRATING.md lists
    # documented-nft: <label> <why>  the same, for the nft run only (e.g. MIGRATING #16)
    # documented-save: v4|v6 <table> <why>  that table's iptables-save may differ (MIGRATING lists why)
    # skip-nft: <reason>        the program cannot run on nf_tables here (a missing kernel module)
    # xfail: <reason>           (legacy run) a pytables bug: the test keeps asserting python-iptables'
                                behaviour and is expected to fail until it is fixed (strict)
    # xfail-nft: <reason>       the same for the nft run

Namespaces: every side gets its own `ip netns add`ed namespace; the program, its pytables server
and every iptables/ipset command run inside it through `ip netns exec`; afterwards every process
left in it is killed and it is deleted. Nothing here touches the host's rules.

The anchor venv is made by `python3 -m venv bench/.venv-anchor && bench/.venv-anchor/bin/pip
install python-iptables` (bench/python.sh does it); without it the tests skip.
"""

import concurrent.futures
import glob
import itertools
import json
import os
import re
import signal
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAMS_DIR = os.path.join(HERE, "programs")
RUNNER = os.path.join(PROGRAMS_DIR, "_runner.py")
ANCHOR_PY = os.environ.get("DIFF_ANCHOR_PYTHON") or os.path.join(ROOT, "bench", ".venv-anchor", "bin", "python")
PYTABLES_PY = os.path.join(ROOT, ".venv", "bin", "python")
if not os.path.exists(PYTABLES_PY):
    PYTABLES_PY = sys.executable
BACKEND = os.environ.get("PYTABLES_BACKEND") or "legacy"
TABLES = ["filter", "mangle", "raw", "nat", "security"]
TIMEOUT = 120
WORKERS = 4
_counter = itertools.count()


def _program_names():
    return sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(PROGRAMS_DIR, "[!_]*.py")))


def _headers(name):
    """The `# key: value` lines at the top of a program."""
    out = {}
    with open(os.path.join(PROGRAMS_DIR, name + ".py")) as f:
        for line in f:
            m = re.match(r"#\s*([a-z-]+):\s*(.*)$", line.strip())
            if not line.startswith("#"):
                break
            if m:
                out.setdefault(m.group(1), []).append(m.group(2).strip())
    return out


def _anchor_missing():
    if not os.path.exists(ANCHOR_PY):
        return "python-iptables anchor venv missing (bench/.venv-anchor; see bench/python.sh)"
    probe = subprocess.run([ANCHOR_PY, "-c", "import iptc.version as v; print(v.__version__)"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return "python-iptables not importable in bench/.venv-anchor: " + probe.stderr.strip()[-200:]
    return None


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def _strip_save(text):
    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.startswith(":"):
            line = re.sub(r"\s*\[\d+:\d+\]$", "", line)
        lines.append(line)
    return lines


def _side(kind, backend, name):
    """Runs program `name` with `kind` (anchor|pytables) on `backend` in a namespace of its own.

    Returns {"observed": [...], "save": {...}, "stderr": str}."""
    ns = "pt-diff-%d-%d" % (os.getpid(), next(_counter))
    python = ANCHOR_PY if kind == "anchor" else PYTABLES_PY
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTABLES_")}
    env["PYTABLES_BACKEND"] = backend
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    result = {"observed": None, "save": {}, "stderr": ""}
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        inside = ["ip", "netns", "exec", ns]
        subprocess.run(inside + ["ip", "link", "set", "lo", "up"], check=True)
        for cmd in _headers(name).get("setup", []):
            subprocess.run(inside + ["sh", "-c", cmd], check=True, capture_output=True)
        try:
            proc = _run(inside + [python, RUNNER, kind, os.path.join(PROGRAMS_DIR, name + ".py")],
                        env=env, timeout=TIMEOUT, cwd=PROGRAMS_DIR)
        except subprocess.TimeoutExpired:
            result["observed"] = [["crashed", {"timeout": TIMEOUT}]]
            return result  # the namespace cleanup below kills what is left
        result["stderr"] = proc.stderr[-3000:]
        last = proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []
        if proc.returncode != 0 or not last:
            result["observed"] = [["crashed", {"rc": proc.returncode, "stderr": proc.stderr[-1500:]}]]
        else:
            result["observed"] = json.loads(last[0])
        if backend == "legacy":
            for v6 in (False, True):
                tool = "ip6tables-legacy-save" if v6 else "iptables-legacy-save"
                for table in TABLES:
                    out = _run(inside + [tool, "-t", table])
                    result["save"]["%s %s" % ("v6" if v6 else "v4", table)] = (
                        _strip_save(out.stdout) if out.returncode == 0 else "error: " + out.stderr.strip())
    finally:
        pids = _run(["ip", "netns", "pids", ns]).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", ns], check=False)
    return result


def _sides():
    """(reference side, checked side) for this backend."""
    if BACKEND == "nft":
        return ("pytables", "legacy"), ("pytables", "nft")
    return ("anchor", "legacy"), ("pytables", "legacy")


_results = {}


@pytest.fixture(scope="module")
def results(request):
    """Runs every selected program on both sides, a few at a time, once per module."""
    missing = _anchor_missing()
    if missing:
        pytest.skip(missing)
    wanted = [item.callspec.params["program"] for item in request.session.items
              if getattr(item, "module", None) is request.module and hasattr(item, "callspec")]
    jobs = [(name, side) for name in wanted for side in _sides()]
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = {job: pool.submit(_side, job[1][0], job[1][1], job[0]) for job in jobs}
        for (name, side), fut in futures.items():
            _results[(name, side)] = fut.result()
    dump = os.environ.get("DIFF_DUMP")  # a folder: every side's output, for reading differences
    if dump:
        os.makedirs(dump, exist_ok=True)
        for (name, side), res in _results.items():
            with open(os.path.join(dump, "%s.%s-%s.json" % (name, side[0], side[1])), "w") as f:
                json.dump(res, f, indent=1, sort_keys=True)
    return _results


def _backend_neutral(msg):
    """nft run: the part of a pytables message before the reason iptables(-nft)-restore gave."""
    for cut in (" (", "iptables refused"):
        if cut in msg:
            msg = msg[:msg.index(cut)]
    return msg


def _same(ref, got):
    """Equality, except a pytables exception message may add " (<reason>)" (MIGRATING #1, #10).

    In the nft run (pytables legacy vs pytables nft) the reason quotes a different iptables tool,
    so only the exception type and the text before the reason are compared."""
    if isinstance(ref, dict) and isinstance(got, dict):
        if set(ref) == {"exc", "msg"} and set(got) == {"exc", "msg"}:
            if BACKEND == "nft":
                return ref["exc"] == got["exc"] and _backend_neutral(ref["msg"]) == _backend_neutral(got["msg"])
            return ref["exc"] == got["exc"] and (
                ref["msg"] == got["msg"] or (got["msg"].startswith(ref["msg"] + " (") and got["msg"].endswith(")")))
        return ref.keys() == got.keys() and all(_same(ref[k], got[k]) for k in ref)
    if isinstance(ref, list) and isinstance(got, list):
        return len(ref) == len(got) and all(_same(a, b) for a, b in zip(ref, got))
    return ref == got


def _differences(name, ref, got):
    headers = _headers(name)
    documented = {line.split()[0] for line in headers.get("documented", [])}
    if BACKEND == "nft":
        documented |= {line.split()[0] for line in headers.get("documented-nft", [])}
    diffs = []
    ref_obs, got_obs = ref["observed"], got["observed"]
    ref_labels = [r[0] for r in ref_obs]
    got_labels = [r[0] for r in got_obs]
    if ref_labels != got_labels:
        diffs.append("observation labels differ:\n  ref: %s\n  got: %s" % (ref_labels, got_labels))
    got_by_label = {}
    for label, value in got_obs:
        got_by_label.setdefault(label, []).append(value)
    seen = {}
    for label, value in ref_obs:
        i = seen.get(label, 0)
        seen[label] = i + 1
        if any(label == d or label.startswith(d + " ") for d in documented):  # "x" covers "x read"
            continue
        others = got_by_label.get(label, [])
        if i >= len(others):
            continue
        if not _same(value, others[i]):
            diffs.append("%s:\n  ref: %s\n  got: %s" % (label, json.dumps(value, sort_keys=True),
                                                       json.dumps(others[i], sort_keys=True)))
    skip_save = {" ".join(line.split()[:2]) for line in headers.get("documented-save", [])}
    if BACKEND != "nft" and ref["save"] != got["save"]:  # python-iptables only knows legacy
        for key in sorted(set(ref["save"]) | set(got["save"])):
            if key not in skip_save and ref["save"].get(key) != got["save"].get(key):
                diffs.append("save %s:\n  ref: %s\n  got: %s" % (key, ref["save"].get(key), got["save"].get(key)))
    return diffs


def _params():
    out = []
    for name in _program_names():
        headers = _headers(name)
        marks = []
        key = "xfail-nft" if BACKEND == "nft" else "xfail"
        if headers.get(key):
            marks.append(pytest.mark.xfail(strict=True, reason=headers[key][0]))
        if BACKEND == "nft" and headers.get("skip-nft"):
            marks.append(pytest.mark.skip(reason=headers["skip-nft"][0]))
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def test_programs_exist():
    assert len(_program_names()) >= 20


@pytest.mark.parametrize("program", _params())
def test_differential(program, results):
    ref_side, got_side = _sides()
    ref, got = results[(program, ref_side)], results[(program, got_side)]
    assert ref["observed"] and ref["observed"][0][0] != "crashed", (
        "reference side %s crashed: %s" % (ref_side, ref["observed"]))
    assert len(ref["observed"]) >= 1
    diffs = _differences(program, ref, got)
    assert not diffs, "%s (%s) vs %s:\n%s\n--- stderr of %s:\n%s" % (
        ref_side, program, got_side, "\n".join(diffs), got_side, got["stderr"])
