#!/usr/bin/env python3
"""cargo-mutants on a random sample of the Rust modules of .cargo/mutants.toml,
each module with the test targets that cover it (GROUPS).

    scripts/mutate_rust.py --list                   the mutants of every group
    scripts/mutate_rust.py --sample 20 --seed 1     20 random mutants
    scripts/mutate_rust.py --group conditions       every mutant of one group

It works in the copy of the tree scripts/mutate_c.py makes (target/mutants/tree,
built in target/mutants/target), with `cargo mutants --in-place` there, so that
the project's own tree and target dir are left alone and no cold build is
needed.  Prints the kill rate (caught / (caught + missed); timeouts count as
caught, unviable mutants not at all) and lists the survivors.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutate_c  # noqa: E402  (the tree copy and its target dir)

# group -> (file names, cargo test arguments)
GROUPS = {
    "history": (["history.rs"], ["--lib", "--test", "record_replay"]),
    "conditions": (["condition.rs", "agent_expr.rs"],
                   ["--lib", "--test", "flux_aware", "--test", "gdb_conditions", "--test", "edges"]),
    "breakpoints": (["breakpoints.rs"], ["--test", "gdb_stub", "--test", "gdb_conditions", "--test", "edges"]),
    "replay_file": (["replay_file.rs"], ["--lib", "--test", "record_replay", "--test", "agents"]),
}


def cargo_mutants(args, cwd, timeout=None):
    env = dict(os.environ, CARGO_TARGET_DIR=str(mutate_c.CARGO_TARGET))
    return subprocess.run(["cargo", "mutants", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def config():
    import tomllib
    with open(mutate_c.ROOT / ".cargo" / "mutants.toml", "rb") as f:
        return tomllib.load(f)


def escape(name):
    """A mutant's name as a regex (Rust's regex: `\\<` would be a word boundary)."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", name)


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--sample", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--group", choices=sorted(GROUPS), action="append")
    ap.add_argument("--timeout", type=int, default=300, help="seconds of tests per mutant")
    a = ap.parse_args()
    if subprocess.run(["cargo", "mutants", "--version"], capture_output=True).returncode != 0:
        sys.exit("mutate_rust: cargo-mutants is missing (scripts/mutants.sh installs it)")

    groups = a.group or sorted(GROUPS)
    ms = [m for g in groups for m in listing(g)]
    if a.list:
        for m in ms:
            print(f"[{m['group']}] {m['name']}")
        print(f"{len(ms)} mutants", file=sys.stderr)
        return 0
    mutate_c.prepare()
    chosen = random.Random(a.seed).sample(ms, min(a.sample, len(ms))) if a.sample else ms

    caught, missed, timeouts, unviable = [], [], [], []
    for g in groups:
        names = [m["name"] for m in chosen if m["group"] == g]
        if not names:
            continue
        files, tests = GROUPS[g]
        out = mutate_c.TREE / "mutants.out"
        # no baseline run (the suite passes before mutants are tried), so the
        # time limits are explicit; --no-config so that -f names this group's
        # files only (with the config, -f adds to its examine_globs)
        args = ["--in-place", "--no-shuffle", "--baseline", "skip", "--output", str(mutate_c.TREE),
                "--timeout", str(a.timeout), "--build-timeout", "1800", "--no-config"]
        for f in files:
            args += ["-f", f]
        for x in config().get("exclude_re", []):
            args += ["--exclude-re", x]
        args += ["--re", "^(" + "|".join(escape(n) for n in names) + ")$", "--", *tests]
        print(f"mutate_rust: {g}: {len(names)} mutants, cargo test {' '.join(tests)}", file=sys.stderr, flush=True)
        cargo_mutants(args, mutate_c.TREE)
        # cargo-mutants 27.1 runs struct-field mutants ("delete field x from
        # struct ...") whatever --re says: only the sampled ones count
        for kind, sink in (("caught", caught), ("missed", missed), ("timeout", timeouts), ("unviable", unviable)):
            p = out / f"{kind}.txt"
            if p.exists():
                sink += [f"[{g}] {l}" for l in p.read_text().splitlines() if l.strip() in names]

    killed = len(caught) + len(timeouts)
    scored = killed + len(missed)
    rate = 100.0 * killed / scored if scored else 0.0
    seed = f", seed {a.seed}" if a.sample else ""
    print(f"\nRust kill rate: {killed}/{scored} = {rate:.0f}% ({len(unviable)} unviable{seed})")
    for l in missed:
        print(f"survived: {l}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
