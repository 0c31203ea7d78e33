#!/usr/bin/env python3
"""Two builds of flux-gdbstub measured side by side, with bench.py's measurements
and peers, interleaved so that a busy machine slows both alike:

  fib(30)       `run benches/fib30.fasm`                    peer: lua5.4 benches/fib30.lua
  continue      gdb `continue` over loop.fasm, 10 bp + 1 watch   peer: a plain `run` of it
  stepi         `stepi N` through gdb (steps per second)       peer: gdb + gdbserver, native loop
  record run    `run --record` on fib(30)                   peer: `run` on fib(30)
  record serve  gdb `continue` over loop.fasm, serve --record    peer: serve without
  trace         gdb `continue` over loop.fasm, monitor trace on  peer: trace off

Each round measures every row once for each build, the builds in turn (which one
goes first alternates from round to round), each FLUX figure back to back with its
peer (which goes first alternates too).  Printed per build: the median FLUX figure,
the median peer figure and the median of the per-pair ratios; and, per row, the
median of the per-round ratios after / before of the FLUX figures.  Nothing fails
on a timing.

Usage: compare.py --before STUB --after STUB [--rounds N] [--steps N] [--out FILE]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def rows(tmp, steps):
    """(name, unit, measure(stub, i) -> (flux, peer)); unit 's' (lower is better) or '/s'."""
    exe = bench.build_native(tmp)
    fib_rc = 832040 & 0xFF

    def fib(stub, i):
        return bench.pair(i, lambda: bench.run_timed([stub, "run", bench.FIB_FASM], expect_rc=fib_rc, expect_out=bench.FIB_OUT),
                          lambda: bench.run_timed(["lua5.4", bench.FIB_LUA], expect_rc=0, expect_out=bench.FIB_OUT))

    def cont(stub, i):
        return bench.pair(i, lambda: bench.gdb_continue(stub, armed=True)[0],
                          lambda: bench.run_timed([stub, "run", bench.LOOP_FASM], expect_rc=bench.LOOP_EXIT, expect_out=bench.LOOP_OUT))

    def stepi(stub, i):
        rate = lambda out: steps / float(bench.result(out, "secs"))
        return bench.pair(i, lambda: rate(bench.flux_stepi(stub, steps)), lambda: rate(bench.native_stepi(exe, steps)))

    def record_run(stub, i):
        path = os.path.join(tmp, "fib30.replay")
        return bench.pair(i, lambda: bench.run_timed([stub, "run", bench.FIB_FASM, "--record", path], expect_rc=fib_rc, expect_out=bench.FIB_OUT),
                          lambda: bench.run_timed([stub, "run", bench.FIB_FASM], expect_rc=fib_rc, expect_out=bench.FIB_OUT))

    def record_serve(stub, i):
        to_halt = lambda extra: bench.gdb_continue_to(stub, bench.LOOP_FASM, bench.LOOP_HALT, extra)[0]
        return bench.pair(i, lambda: to_halt(["--record"]), lambda: to_halt([]))

    def trace(stub, i):
        def traced():
            secs, _, out = bench.gdb_continue_to(stub, bench.LOOP_FASM, bench.LOOP_HALT, ["--save-dir", tmp],
                                                 setup=["monitor trace on"], after=["-ex", "monitor trace save ring.txt"])
            if "saved 100000 records" not in out:
                raise bench.BenchError(f"monitor trace save: unexpected session:\n{out}")
            return secs
        return bench.pair(i, traced, lambda: bench.gdb_continue_to(stub, bench.LOOP_FASM, bench.LOOP_HALT, [])[0])

    return [
        ("fib(30): run vs lua5.4", "s", fib),
        ("gdb continue, 10 bp + 1 watch, vs run", "s", cont),
        (f"stepi {steps}: flux-gdbstub vs gdbserver", "/s", stepi),
        ("fib(30): run --record vs run", "s", record_run),
        ("continue loop.fasm: serve --record vs not", "s", record_serve),
        ("continue loop.fasm: trace on vs off", "s", trace),
    ]


def fmt(x, unit):
    return f"{x:.0f}/s" if unit == "/s" else f"{x * 1e3:.0f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the flux-gdbstub binary before the change")
    ap.add_argument("--after", required=True, help="the flux-gdbstub binary after the change")
    ap.add_argument("--rounds", type=int, default=5, help="rounds; each measures every row once per build")
    ap.add_argument("--steps", type=int, default=2000, help="stepi count per gdb session")
    ap.add_argument("--out", help="also write the tables to this file")
    a = ap.parse_args()
    if a.rounds < 1 or a.steps < 1:
        ap.error("--rounds and --steps must be at least 1")
    stubs = {"before": os.path.abspath(a.before), "after": os.path.abspath(a.after)}
    tmp = tempfile.mkdtemp(prefix="flux-compare-")
    try:
        measured = rows(tmp, a.steps)
        got = {(name, side): [] for name, _, _ in measured for side in stubs}
        for i in range(a.rounds):
            order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
            for name, _, measure in measured:
                for side in order:
                    bench.log(f"round {i + 1}/{a.rounds}: {name} ({side})")
                    got[(name, side)].append(measure(stubs[side], i))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [f"flux-gdbstub before ({stubs['before']}) and after ({stubs['after']}): {a.rounds} rounds, interleaved;"
             " figures are medians; ratio = median of per-pair FLUX / peer (stepi: FLUX rate / peer rate)", ""]
    for side in stubs:
        table = []
        for name, unit, _ in measured:
            pairs = got[(name, side)]
            flux = [f for f, _ in pairs]
            peer = [p for _, p in pairs]
            table.append((name, fmt(statistics.median(flux), unit), fmt(statistics.median(peer), unit),
                          f"{bench.paired(flux, peer):.2f}x"))
        lines += [f"{side.upper()}:"] + bench.table(table, ("measurement", "FLUX", "peer", "ratio")) + [""]
    def slowdown(name, unit, k):
        """Median over rounds of after / before for times, before / after for rates (above 1: slower)."""
        pairs = zip(got[(name, "before")], got[(name, "after")])
        return statistics.median((y[k] / x[k]) if unit == "s" else (x[k] / y[k]) for x, y in pairs)

    change = [(name, f"{slowdown(name, unit, 0):.2f}x", f"{slowdown(name, unit, 1):.2f}x") for name, unit, _ in measured]
    lines += ["AFTER / BEFORE (median of per-round ratios of the FLUX figure; above 1 = slower; the peer's own drift beside it):"]
    lines += bench.table(change, ("measurement", "FLUX after/before", "peer after/before"))
    lines += ["", f"machine: {os.cpu_count()} CPUs, load average {' '.join('%.2f' % x for x in os.getloadavg())}"]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (bench.BenchError, OSError) as e:
        print(f"compare: error: {e}", file=sys.stderr)
        sys.exit(1)
