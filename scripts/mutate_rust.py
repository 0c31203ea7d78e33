#!/usr/bin/env python3
"""cargo-mutants' mutants of the Rust modules of .cargo/mutants.toml, a random
sample of them, each run with the test targets that cover its module (GROUPS).

    scripts/mutate_rust.py --list                   the mutants of every group
    scripts/mutate_rust.py --sample 20 --seed 1     20 random mutants, in sample order
    scripts/mutate_rust.py --sample 60 --seed 1 --skip 20 --log /tmp/rust.log
                                                    the same sample's mutants 21 to 60
    scripts/mutate_rust.py --group conditions       every mutant of one group
    scripts/mutate_rust.py --re 'agent_expr.rs:270:49'   the mutants whose name it finds

cargo-mutants lists the mutants (`--list --json`: each with its diff); each
one is applied to the copy of the tree scripts/mutate_c.py makes
(target/mutants/tree, built in target/mutants/target), so that the project's
own tree and target dir are left alone and no cold build is needed, and
tested as runtime-c's mutants are: the covering test binaries run directly,
cheapest first and the library's unit tests last, stopping at the first
failure (a caught mutant costs its build and one binary or two).  Running
them through `cargo mutants --in-place` instead had two costs: every test
target ran to its end, and cargo-mutants 27.1 runs the struct-field mutants
("delete field x from struct ...") of the files given whatever --re and
--exclude-re say, seven builds and test runs more per group.  Prints the kill
rate (killed / (killed + survived); a timeout kills, an unviable mutant does
not count) and lists the survivors; --log FILE keeps each result line as it
is known.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutate_c  # noqa: E402  (the tree copy and its target dir)

# group -> (file names, cargo test arguments)
# (breakpoints.rs: gdb's and the DAP server's; recording.rs: the replay files,
# replay_file.rs before the layers became folders)
GROUPS = {
    "history": (["history.rs"], ["--lib", "--test", "record_replay", "--test", "queries"]),
    "conditions": (["condition.rs", "agent_expr.rs"],
                   ["--lib", "--test", "flux_aware", "--test", "gdb_conditions", "--test", "edges"]),
    "breakpoints": (["breakpoints.rs"],
                    ["--lib", "--test", "gdb_stub", "--test", "gdb_conditions", "--test", "edges", "--test", "dap"]),
    "replay_file": (["recording.rs"], ["--lib", "--test", "record_replay", "--test", "agents"]),
}


def cargo_mutants(args, cwd, timeout=None):
    env = dict(os.environ, CARGO_TARGET_DIR=str(mutate_c.CARGO_TARGET))
    return subprocess.run(["cargo", "mutants", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def config():
    import tomllib
    with open(mutate_c.ROOT / ".cargo" / "mutants.toml", "rb") as f:
        return tomllib.load(f)


def listing(group):
    files, _ = GROUPS[group]
    args = ["--list", "--json", "--no-config"]
    for x in config().get("exclude_re", []):
        args += ["--exclude-re", x]
    for f in files:
        args += ["-f", f]
    r = cargo_mutants(args, mutate_c.ROOT)   # listing builds nothing
    if r.returncode != 0:
        sys.exit(f"mutate_rust: cargo mutants --list failed:\n{r.stderr}")
    return [dict(m, group=group) for m in json.loads(r.stdout) if Path(m["file"]).name in files]


def run_one(m, tests, timeout):
    """Applies cargo-mutants' diff of mutant `m` to the tree copy, builds the
    test targets, runs them as scripts/mutate_c.py does (cheapest first, the
    library's unit tests last, stopping at the first failure); puts the file
    back.  (verdict, detail)."""
    path = mutate_c.TREE / m["file"]
    orig = path.read_text()
    try:
        r = subprocess.run(["patch", "-s", "-f", "--no-backup-if-mismatch", "-r", "-", str(path)],
                           input=m["diff"], text=True, capture_output=True)
        if r.returncode != 0:
            return "unviable", f"the diff does not apply: {r.stdout}{r.stderr}"
        t0 = time.time()
        rc, out, err = mutate_c.cargo(["test", "--locked", "--no-run", "--message-format=json"] + tests, 1800)
        m["build_s"] = time.time() - t0
        if rc != 0:
            return "unviable", err[-2000:]
        t0 = time.time()
        try:
            return mutate_c.run_tests(mutate_c.executables(out), timeout)
        finally:
            m["test_s"] = time.time() - t0
    finally:
        path.write_text(orig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--sample", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip", type=int, default=0, help="leave out the sample's first N mutants (run before)")
    ap.add_argument("--group", choices=sorted(GROUPS), action="append")
    ap.add_argument("--re", help="only the mutants whose name (as --list shows it) this regular expression finds")
    ap.add_argument("--timeout", type=int, default=300, help="seconds of tests per mutant")
    ap.add_argument("--log", help="append each mutant's result line to this file as it is known")
    ap.add_argument("--until", help="HH:MM (UTC): start no mutant after this time (the results so far are reported)")
    a = ap.parse_args()
    if subprocess.run(["cargo", "mutants", "--version"], capture_output=True).returncode != 0:
        sys.exit("mutate_rust: cargo-mutants is missing (scripts/mutants.sh installs it)")

    groups = a.group or sorted(GROUPS)
    ms = [m for g in groups for m in listing(g)]
    if a.re:
        ms = [m for m in ms if re.search(a.re, m["name"])]
    if a.list:
        for m in ms:
            print(f"[{m['group']}] {m['name']}")
        print(f"{len(ms)} mutants", file=sys.stderr)
        return 0
    chosen = random.Random(a.seed).sample(ms, min(a.sample, len(ms))) if a.sample else ms
    chosen = chosen[a.skip:]
    mutate_c.prepare()

    deadline = None
    if a.until:
        import datetime
        now = datetime.datetime.now(datetime.timezone.utc)
        h, mi = (int(x) for x in a.until.split(":"))
        deadline = now.replace(hour=h, minute=mi, second=0, microsecond=0)
        if deadline < now:
            deadline += datetime.timedelta(days=1)
    results = []
    for k, m in enumerate(chosen, a.skip + 1):
        if deadline and datetime.datetime.now(datetime.timezone.utc) >= deadline:
            print(f"mutate_rust: {a.until} UTC: stopped before mutant {k}", file=sys.stderr)
            break
        t0 = time.time()
        verdict, detail = run_one(m, GROUPS[m["group"]][1], a.timeout)
        results.append((m, verdict))
        mutate_c.report(f"{k}/{a.skip + len(chosen)}", verdict, f"[{m['group']}] {m['name']}", detail, m, t0, a.log)

    killed = sum(1 for _, v in results if v == "killed")
    survived = [m for m, v in results if v == "survived"]
    unviable = sum(1 for _, v in results if v == "unviable")
    scored = killed + len(survived)
    rate = 100.0 * killed / scored if scored else 0.0
    seed = f", seed {a.seed}" if a.sample else ""
    print(f"\nRust kill rate: {killed}/{scored} = {rate:.0f}% ({unviable} unviable{seed})")
    for m in survived:
        print(f"survived: [{m['group']}] {m['name']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
