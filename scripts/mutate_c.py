#!/usr/bin/env python3
"""Mutation testing for runtime-c: plants one small bug at a time in a copy
of the tree, runs the tests that cover it, and reports which bugs no test
caught.

    scripts/mutate_c.py --list                       every mutant, numbered
    scripts/mutate_c.py --sample 20 --seed 1         20 random mutants
    scripts/mutate_c.py --ids 12,40                  these mutants (numbers of --list)
    scripts/mutate_c.py --patch 'runtime-c/flux_vm.c|hi_w = w->addr + w->len|hi_w = w->addr + w->len - 1'
                                                     a mutant given by hand (any file of the tree:
                                                     the only occurrence of OLD becomes NEW; `;;` joins
                                                     several edits into one mutant)

The mutants (every runtime-c/*.c and *.h, comments and strings left alone):
  cmp     a comparison turned into its neighbour: <= <, < <=, >= >, > >=, == !=, != ==
  logic   && and || swapped
  bound   an off-by-one in a bound or a length: `+ 1` and `- 1` dropped
  flags   flag helpers swapped: add_flags/sub_flags, SET_ADD/SET_SUB, FLUX_FLAG_C/O, FLUX_FLAG_Z/S
  energy  an extra energy cost rounded up instead of down (`x / 4` as `(x + 3) / 4`), and every
          base cost above 1 in the opcode table (flux_opcodes.h) one higher

Each mutant is applied to a copy of the tree (target/mutants/tree, tracked and
untracked-but-not-ignored files), built with its own target dir
(target/mutants/target, seeded from target/debug the first time; runtime-c
at -O0 through build.rs's FLUX_OPT_LEVEL, or $FLUX_MUTANTS_OPT), and tested
with the test targets that cover where it is (COVER below: by file and by the
function or opcode the mutant is in).  The test binaries are run directly,
cheapest first and the library's unit tests last; the first failing test
kills the mutant, as does running past --timeout.  A mutant that does not
compile (-Werror) is "unviable" and does not count.  --log FILE gets each
result line as it is known, so that a run cut short keeps what it found.
Results: killed / (killed + survived), the survivors listed with file, line
and the change; tests/MUTANTS.md says which survivors are equivalent.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "mutants"
TREE = WORK / "tree"
CARGO_TARGET = WORK / "target"

# Test targets every runtime-c mutant runs, then more by where it is: a
# regular expression on "file function CASE line-text" -> more targets.
BASE_TESTS = ["--lib", "--test", "opcodes", "--test", "edges"]
COVER = [
    (r"watch", ["--test", "gdb_stub"]),
    (r"cond|_ax|ax_|flux_ax_eval|flux_cond|hook_step", ["--test", "flux_aware", "--test", "gdb_conditions"]),
    (r"agent|AGENT|sched|slice|mailbox|spawn|join|SPAWN|JOIN|TELL|ASK|BARRIER|YIELD|PROPOSAL|SEND_TO|ROOM_OR_BLOCK|BLOCK",
     ["--test", "agents"]),
    (r"state|save|load|input|dirty|page|history|check", ["--test", "record_replay"]),
    (r"trace|prof", ["--test", "trace_profile"]),
    (r"prov_", ["--test", "flux_aware"]),
]

CMP = {"<=": "<", "<": "<=", ">=": ">", ">": ">=", "==": "!=", "!=": "=="}
SWAPS = [
    ("add_flags(", "sub_flags("), ("sub_flags(", "add_flags("),
    ("SET_ADD(", "SET_SUB("), ("SET_SUB(", "SET_ADD("),
    ("FLUX_FLAG_C", "FLUX_FLAG_O"), ("FLUX_FLAG_O", "FLUX_FLAG_C"),
    ("FLUX_FLAG_Z", "FLUX_FLAG_S"), ("FLUX_FLAG_S", "FLUX_FLAG_Z"),
]


def mask(text):
    """The text with comments and string/char literals blanked (same length)."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j += 1
        else:
            i += 1
            continue
        for k in range(i, min(j, n)):
            if out[k] != "\n":
                out[k] = " "
        i = j
    return "".join(out)


def context_of(lines, lineno):
    """The enclosing function (a line at column 0 with a '(') and opcode CASE."""
    func = case = ""
    for k in range(lineno, -1, -1):
        l = lines[k]
        if not case:
            m = re.search(r"CASE\((\w+)\)", l)
            if m:
                case = m.group(1)
        if l[:1].isalpha() and "(" in l and not l.startswith(("#", "typedef")):
            m = re.search(r"(\w+)\s*\(", l)
            func = m.group(1) if m else ""
            break
    return func, case


def macro_of(lines, lineno):
    """The macro whose #define holds the line (continued with backslashes), or ''."""
    k = lineno
    while k > 0 and lines[k - 1].rstrip().endswith("\\"):
        k -= 1
    m = re.match(r"\s*#\s*define\s+(\w+)", lines[k])
    return m.group(1) if m else ""


def mutants_of(rel, text):
    m_text = mask(text)
    lines, m_lines = text.split("\n"), m_text.split("\n")
    found = []

    def add(lineno, col, old, new, kind):
        func, case = context_of(lines, lineno)
        found.append(dict(file=rel, line=lineno + 1, col=col, old=old, new=new, kind=kind, func=func, case=case,
                          macro=macro_of(lines, lineno), text=lines[lineno].strip()))

    for ln, ml in enumerate(m_lines):
        s = ml.lstrip()
        if s.startswith("#") and not s.startswith("#define"):
            continue
        if s.startswith("X(0x") and rel.endswith("flux_opcodes.h"):
            # X(code, NAME, FORMAT, CATEGORY, cost, implemented)
            m = re.match(r"(\s*X\(0x\w+,\s*\w+,\s*\w+,\s*\w+,\s*)(\d+)", ml)
            if m and int(m.group(2)) > 1:   # the costs that are not the common 1
                add(ln, m.end(1), m.group(2), str(int(m.group(2)) + 1), "energy")
            continue
        for m in re.finditer(r"<<=?|>>=?|->|<=|>=|==|!=|<|>", ml):
            op = m.group(0)
            if op in CMP:
                add(ln, m.start(), op, CMP[op], "cmp")
        for m in re.finditer(r"&&|\|\|", ml):
            if ml[:m.start()].rstrip()[-1:] in ("=", ",", "(", "{", ""):
                continue   # `&&label`: the address of a label (the dispatch table), not a logical and
            add(ln, m.start(), m.group(0), "||" if m.group(0) == "&&" else "&&", "logic")
        for m in re.finditer(r"([+-]) 1(?![\w.])", ml):
            add(ln, m.start(), m.group(0), m.group(1) + " 0", "bound")
        for old, new in SWAPS:
            if ml.startswith("static") and old.endswith("("):
                continue   # the helper's own definition: a rename, not a swap
            for m in re.finditer(re.escape(old) + (r"\b" if old[-1].isalnum() else ""), ml):
                add(ln, m.start(), old, new, "flags")
        for m in re.finditer(r"EXTRA_COST\((\w+) / 4\)", ml):
            add(ln, m.start(), m.group(0), f"EXTRA_COST(({m.group(1)} + 3) / 4)", "energy")
    return found


def all_mutants():
    out = []
    for p in sorted((ROOT / "runtime-c").glob("*.[ch]")):
        rel = str(p.relative_to(ROOT))
        out.extend(mutants_of(rel, p.read_text()))
    for i, m in enumerate(out):
        m["id"] = i
    return out


def describe(m):
    where = m.get("macro") or m["case"] or m["func"]
    return f"#{m['id']} {m['file']}:{m['line']} ({where}) {m['kind']}: '{m['old']}' -> '{m['new']}'"



def report(position, verdict, name, detail, m, t0, log):
    """Prints one mutant's result line (and appends it to `log`, when given):
    its position, verdict, name, the last line the tests said, and times."""
    last = detail.strip().splitlines()[-1][:200] if detail.strip() else ""
    line = (f"[{position}] {verdict:8} {name}  ({last}; {time.time() - t0:.0f} s: "
            f"build {m.get('build_s', 0):.0f}, tests {m.get('test_s', 0):.0f})")
    print(line, flush=True)
    if log:
        with open(log, "a") as f:
            f.write(line + "\n")

def tests_for(m, override):
    if override:
        return override.split()
    # a macro's line counts where the macro is named (LIVE_AGENT: agents),
    # not in the opcode it happens to be defined after
    key = f"{m['file']} {m.get('macro') or m['func'] + ' ' + m['case']} {m.get('text', '')}"
    t = list(BASE_TESTS)
    for pat, more in COVER:
        if re.search(pat, key):
            t += [x for x in more if x not in t or x == "--test"]
    return t


def tracked_files():
    r = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       cwd=ROOT, capture_output=True, check=True)
    return [f for f in r.stdout.decode().split("\0") if f]


def prepare():
    """A fresh copy of the tree; the mutants' target dir seeded once."""
    if TREE.exists():
        shutil.rmtree(TREE)
    for f in tracked_files():
        src = ROOT / f
        if not src.is_file():
            continue
        dst = TREE / f
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)   # mtime now: cargo rebuilds whatever the last mutant left
    # ignored dependencies some tests need (tests/dap's DAP test client, from
    # scripts/setup.sh's `npm ci`): the copy uses the tree's own
    for dep in ["tests/dap/node_modules"]:
        if (ROOT / dep).is_dir() and not (TREE / dep).exists():
            (TREE / dep).symlink_to(ROOT / dep)
    if not CARGO_TARGET.exists() and (ROOT / "target" / "debug").exists():
        print("mutate: seeding target/mutants/target from target/debug (once)", file=sys.stderr)
        dst = CARGO_TARGET / "debug"
        dst.mkdir(parents=True)
        for part in ["build", "deps", ".fingerprint"]:
            src = ROOT / "target" / "debug" / part
            if src.exists():
                subprocess.run(["cp", "-a", str(src), str(dst / part)], check=True)


def cargo(args, timeout):
    env = dict(os.environ, CARGO_TARGET_DIR=str(CARGO_TARGET))
    env.pop("RUSTFLAGS", None)
    # runtime-c at -O0 (build.rs's FLUX_OPT_LEVEL): flux_vm.c compiles in a
    # fifth of its -O1 time, twice per mutant (the reference build too), and
    # the tests run the same C; unlike CFLAGS it does not rebuild zstd-sys
    env["FLUX_OPT_LEVEL"] = os.environ.get("FLUX_MUTANTS_OPT", "0")
    # its own process group: on a timeout the test binaries (a mutant that
    # loops for ever) go with cargo
    p = subprocess.Popen(["cargo"] + args, cwd=TREE, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, out.decode(errors="replace"), err.decode(errors="replace")


def executables(json_lines):
    """(target name, test binary) of `cargo test --no-run --message-format=json`."""
    exes = []
    for line in json_lines.splitlines():
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["profile"].get("test"):
            exes.append((msg["target"]["name"], msg["executable"]))
    return exes


def run_tests(exes, timeout):
    """Runs the test binaries themselves, as `cargo test` would (in the package
    directory), cheapest first and the library's unit tests last; stops at the
    first failing one.  (verdict, detail)."""
    exes = sorted(exes, key=lambda e: (e[0] == "cuda_flux_debugger", e[0] not in ("opcodes", "edges"), e[0]))
    deadline = time.time() + timeout
    env = dict(os.environ, CARGO_MANIFEST_DIR=str(TREE))
    for name, exe in exes:
        left = deadline - time.time()
        if left <= 0:
            return "killed", "timeout"
        p = subprocess.Popen([exe, "-q"], cwd=TREE, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=left)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            return "killed", f"timeout in {name}"
        if p.returncode != 0:
            out = out.decode(errors="replace")
            failed = re.findall(r"^    (\S+)$", out, re.M)
            return "killed", f"{name}: " + (failed[0] if failed else out[-500:])
    return "survived", " ".join(n for n, _ in exes)


def apply(m, text):
    lines = text.split("\n")
    l = lines[m["line"] - 1]
    assert l[m["col"]:m["col"] + len(m["old"])] == m["old"], (describe(m), l)
    lines[m["line"] - 1] = l[:m["col"]] + m["new"] + l[m["col"] + len(m["old"]):]
    return "\n".join(lines)


def run_one(m, args):
    edits = m["patch"] if "patch" in m else [(m["file"], None, None)]
    origs = {f: (TREE / f).read_text() for f, _, _ in edits}
    try:
        for f, old, new in edits:
            path = TREE / f
            text = path.read_text()
            if old is None:
                path.write_text(apply(m, text))
            else:
                assert text.count(old) == 1, f"'{old}' is not once in {f}"
                path.write_text(text.replace(old, new))
        tests = tests_for(m, args.tests)
        t0 = time.time()
        rc, out, err = cargo(["test", "--locked", "--no-run", "--message-format=json"] + tests, args.build_timeout)
        m["build_s"] = time.time() - t0
        if rc != 0:
            return "unviable", err[-2000:]
        t0 = time.time()
        try:
            return run_tests(executables(out), args.timeout)
        finally:
            m["test_s"] = time.time() - t0
    finally:
        for f, text in origs.items():
            (TREE / f).write_text(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--sample", type=int, help="N random mutants")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ids", help="comma-separated mutant numbers (of --list)")
    ap.add_argument("--kind", help="only mutants of these kinds (comma-separated: cmp,logic,bound,flags,energy)")
    ap.add_argument("--patch", action="append", default=[],
                    help="FILE|OLD|NEW[;;FILE|OLD|NEW...]: a mutant given by hand (several edits: one mutant)")
    ap.add_argument("--tests", help="the cargo test arguments to use for every mutant (default: by COVER)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds of tests per mutant (then: killed; the unmutated run takes about one minute)")
    ap.add_argument("--build-timeout", type=int, default=1800)
    ap.add_argument("--log", help="append each mutant's result line to this file as it is known (a partial run keeps its results)")
    args = ap.parse_args()

    ms = all_mutants()
    if args.kind:
        kinds = set(args.kind.split(","))
        ms = [m for m in ms if m["kind"] in kinds]
    if args.list:
        for m in ms:
            print(describe(m))
        print(f"{len(ms)} mutants in runtime-c", file=sys.stderr)
        return 0
    if args.patch:
        chosen = []
        for i, p in enumerate(args.patch):
            edits = [tuple(e.split("|")) for e in p.split(";;")]
            f, old, new = edits[0]
            chosen.append(dict(id=f"p{i}", file=f, line=0, col=0, old=old, new=new, kind="patch", func="", case="", patch=edits))
    elif args.ids:
        want = [int(x) for x in args.ids.split(",")]
        by_id = {m["id"]: m for m in ms}
        chosen = [by_id[i] for i in want]
    elif args.sample:
        chosen = random.Random(args.seed).sample(ms, min(args.sample, len(ms)))
    else:
        ap.error("give --list, --sample N, --ids or --patch")

    prepare()
    results = []
    for k, m in enumerate(chosen, 1):
        t0 = time.time()
        verdict, detail = run_one(m, args)
        results.append((m, verdict, detail))
        report(f"{k}/{len(chosen)}", verdict, describe(m), detail, m, t0, args.log)

    killed = sum(1 for _, v, _ in results if v == "killed")
    survived = [m for m, v, _ in results if v == "survived"]
    unviable = sum(1 for _, v, _ in results if v == "unviable")
    scored = killed + len(survived)
    rate = 100.0 * killed / scored if scored else 0.0
    seed = f", seed {args.seed}" if args.sample else ""
    print(f"\nkill rate: {killed}/{scored} = {rate:.0f}% ({unviable} unviable{seed})")
    for m in survived:
        print(f"survived: {describe(m)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
