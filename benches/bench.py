#!/usr/bin/env python3
"""The measurements of scripts/bench.sh, each against a peer timed in the same run.

  1. fib(35) and fib(30), recursive: `flux-gdbstub run benches/fib35.fasm` vs
     `lua5.4 benches/fib35.lua` (goal: at most 0.8x), and the same with fib30.
  2. gdb `continue` to the end of benches/loop.fasm with 10 breakpoints and 1 write
     watchpoint armed but never hit vs a plain `flux-gdbstub run benches/loop.fasm`.
  3. `stepi N` through gdb: gdb + flux-gdbstub vs gdb + gdbserver on a native C loop.
  4. a conditional breakpoint hit 20,000 times: gdb's `break *ADDR if $r1 == 999`
     sent to the stub as an agent expression (CLI, and gdb/MI's `-break-insert -c`)
     vs the stub's own `monitor break ADDR if r1 == 999`; and gdb evaluating the
     same condition itself (`set breakpoint condition-evaluation host`, gdb's
     only way before the stub took agent expressions) vs the agent expression
     (gdb-side is slow: it runs in every third pair, in turn with its peer).
  5. gdb `continue` with 5 stub-side conditional breakpoints and 2 watch-if vs plain run.
  6. recording: `run --record` vs `run` on fib(30); gdb `continue` over loop.fasm
     with `serve --record` vs without (and the history's bytes per million instructions).
  7. reverse-stepi vs stepi at the end of a recording of fib(30) (~21 M instructions),
     over the same instructions, which direction is timed first alternating; the
     first step back from the end (a re-run from the last checkpoint) timed apart.
  8. tracing in the stub: gdb `continue` over loop.fasm with `monitor trace on` vs
     without, and the time `monitor trace save` then takes for the 100,000-record ring.
  9. recording memory: a loop that draws a random number every other instruction
     (rng_loop.fasm) vs the same loop without (plain_loop.fasm): `run --record` file
     size and peak RSS, `serve --record` history bytes and peak RSS, per million
     instructions; and serve --record --record-limit 64MiB of pages_loop.fasm (200 M
     instructions writing 128 distinct pages over and over) against its limit.
  10. finding a depth-3 bug (examples/pct_depth3.fasm): the fraction of seeds
     0..N (--pct-seeds, default 4000) whose run hits it under `explore --sched pct
     --depth 3` against `--sched chaos` over the same seeds, and PCT's bound
     1/(n·k^(d−1)) (n = 2 agents, k = the steps PCT drew its change points from).
     Fractions, not times: the seeds name the schedules exactly.
  11. source-level `next` round trips: a DAP client's `next` request and its `stopped`
     event through `flux-gdbstub dap` vs gdb's `next` through `flux-gdbstub serve` of the
     same program (loop.fasm, its ELF for gdb), neither recording.
  12. history queries at the end of a recording of fib(30): `monitor origin`,
     `last-write` and `history` of the stack word mem32[0xFFF8] vs a plain
     `flux-gdbstub run` of fib(30).
  13. explore throughput: runs per second on one core (`explore --jobs 1`) of the
     racy FizzBuzz (~330 instructions a run) and of pct_depth3.fasm (~200,000), each
     with schedule coverage (the access log) against `--no-coverage`; and
     scripts/explore_dask.py on a LocalCluster of 2 workers against `explore --jobs 2`
     over the same seeds (the cluster's start included).
  14. the run database: `collect benches/fib25.fasm --db FILE` (a recorded run indexed into
     SQLite: every call, every memory write, the profile, ...) vs `run --record` of fib(25);
     and vs SQLite's own bulk load of the same rows (Python's sqlite3 loading what collect
     wrote into a fresh file of the same schema, indices after), with the rows per second.
  15. profiling in the stub: gdb `continue` over fib(30) with `monitor profile on`
     (the exact counts and the timeline of every call, `monitor profile events`
     raised so that all 2.7 million call events are kept) vs without, and the
     time `monitor profile save` then takes to write the evented speedscope file.

`bench.py --only memory` measures 9 alone, `--only pct` 10 alone, `--only dap` 11 alone, `--only queries` 12 alone, `--only explore` 13 alone, `--only rundb` 14 alone, `--only profile` 15 alone;
`--only speed` the rows with speed goals: fib(35) and fib(30), 2, 3, `run --record` of 6, and 7.

Every measurement takes --runs pairs: a FLUX run and its peer's run one
after the other (which goes first alternates from pair to pair), so that a
busy machine slows both alike.  A goal is judged on the median of the
per-pair ratios; the best-of-N ratio (min/min) and the medians of each side
are printed beside it for information.  Nothing here fails because of a
timing, only when a measurement cannot be taken (a tool missing, a wrong
result, a timeout).

Usage: bench.py --stub PATH [--runs N] [--steps N] [--pct-seeds N] [--out FILE] [--only memory|speed|pct|dap|queries|explore|rundb|profile]
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHES = os.path.join(ROOT, "benches")

FIB_FASM = os.path.join(BENCHES, "fib30.fasm")
FIB_LUA = os.path.join(BENCHES, "fib30.lua")
FIB_OUT = "832040"
FIB35_FASM = os.path.join(BENCHES, "fib35.fasm")   # ~240 M instructions
FIB35_LUA = os.path.join(BENCHES, "fib35.lua")
FIB35_OUT = "9227465"

# benches/loop.fasm: keep in step with the comment at its top.
LOOP_FASM = os.path.join(BENCHES, "loop.fasm")
LOOP_OUT = "-1543389349"
LOOP_EXIT = 91
LOOP_BREAKPOINTS = [0x100 + i for i in range(10)]  # the NOPs of `never`
LOOP_WATCH = 0x9000                                  # a word nothing writes
HITS_FASM = os.path.join(BENCHES, "hits.fasm")
RNG_LOOP = os.path.join(BENCHES, "rng_loop.fasm")      # 10,000,002 instructions
PLAIN_LOOP = os.path.join(BENCHES, "plain_loop.fasm")  # 10,000,002 instructions
PAGES_LOOP = os.path.join(BENCHES, "pages_loop.fasm")  # 200,000,002 instructions
RNG_LOOP_HALT = 0x0C     # rng_loop.fasm's HALT
PLAIN_LOOP_HALT = 0x0E   # plain_loop.fasm's HALT
PAGES_LOOP_HALT = 0x1F   # pages_loop.fasm's HALT
PAGES_LIMIT = 64 << 20   # --record-limit for pages_loop.fasm
HITS_ADDR = 0x6                                      # `hot`: executed 20,000 times

# Time limits (seconds) for each external command.
T_PROC = 120   # one headless run, one gdb session
T_READY = 30   # a stub or gdbserver printing its listening line

NATIVE_C = r"""
volatile unsigned long sink;
int main(void) {
    for (unsigned long i = 0; i < 1000000000UL; i++)
        sink += i;
    return 0;
}
"""


class BenchError(Exception):
    pass


def pair(i, flux, peer):
    """Runs flux() and peer() one after the other, the peer first on odd
    pairs (so that neither always runs on a machine the other warmed or
    loaded); returns (flux result, peer result)."""
    if i % 2:
        b = peer()
        return flux(), b
    a = flux()
    return a, peer()


def paired(xs, ys):
    """The median of the per-pair ratios xs[i] / ys[i]."""
    if len(xs) != len(ys) or not xs:
        raise BenchError(f"unpaired measurements ({len(xs)} vs {len(ys)})")
    return statistics.median(x / y for x, y in zip(xs, ys))


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def gdb_base():
    # -nx: no ~/.gdbinit; batch mode answers queries itself.
    return ["timeout", "-k", "5", str(T_PROC), "gdb", "-nx", "-batch",
            "-ex", "set pagination off", "-ex", "set confirm off"]


def run_timed(argv, expect_rc=None, expect_out=None):
    """Wall seconds of one run of argv (which must end as expected)."""
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=T_PROC)
    dt = time.perf_counter() - t0
    out = p.stdout.decode(errors="replace")
    if expect_rc is not None and p.returncode != expect_rc:
        raise BenchError(f"{' '.join(argv)}: exit status {p.returncode}, expected {expect_rc}\n"
                         f"{p.stderr.decode(errors='replace')}")
    if expect_out is not None and expect_out not in out:
        raise BenchError(f"{' '.join(argv)}: output {out!r} lacks {expect_out!r}")
    return dt


class Server:
    """A flux-gdbstub or gdbserver started on an ephemeral port; ready once it
    has printed its listening line on stderr."""

    def __init__(self, argv, pattern, cwd=None):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, cwd=cwd)
        self.err_lines = []
        self.out = []
        self.port = None
        ready = threading.Event()
        rx = re.compile(pattern)

        def read_err():
            for raw in self.proc.stderr:
                line = raw.decode(errors="replace")
                self.err_lines.append(line)
                m = rx.search(line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()  # EOF: it died before listening

        def read_out():
            for raw in self.proc.stdout:
                self.out.append(raw.decode(errors="replace"))

        self.threads = [threading.Thread(target=read_err, daemon=True),
                        threading.Thread(target=read_out, daemon=True)]
        for t in self.threads:
            t.start()
        if not ready.wait(T_READY) or self.port is None:
            self.stop()
            raise BenchError(f"{' '.join(argv)} did not start listening:\n{''.join(self.err_lines)}")

    def wait(self):
        """Waits for the server to end (it serves one session) and returns its stdout."""
        try:
            self.proc.wait(timeout=T_PROC)
        except subprocess.TimeoutExpired:
            self.stop()
            raise BenchError(f"{' '.join(self.argv)} did not exit after the session")
        for t in self.threads:
            t.join(timeout=5)
        return "".join(self.out)

    def stop(self):
        if self.proc.poll() is None:
            # SIGTERM first: `timeout` passes it on to the server it runs.
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def flux_server(stub, program, extra=()):
    return Server(["timeout", "-k", "5", str(T_PROC), stub, "serve", program, "--listen", "127.0.0.1:0", "--once", *extra],
                  r"flux-gdbstub: listening on 127\.0\.0\.1:(\d+)")


def native_server(exe):
    return Server(["timeout", "-k", "5", str(T_PROC), "gdbserver", "--once", "127.0.0.1:0", exe],
                  r"Listening on port (\d+)", cwd=os.path.dirname(exe))


def gdb_session(args, what, any_status=False):
    """Runs gdb -batch with `args`; returns its output.  RESULT lines carry figures.
    any_status: a session that ends with `kill` may exit 1 ("Remote connection closed")."""
    p = subprocess.run(gdb_base() + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=T_PROC + 10)
    out = p.stdout.decode(errors="replace")
    if (p.returncode != 0 and not any_status) or "RESULT" not in out:
        raise BenchError(f"gdb session ({what}) failed, status {p.returncode}:\n{out}")
    return out


def result(out, key):
    m = re.search(rf"RESULT {key}=(\S+)", out)
    if not m:
        raise BenchError(f"gdb printed no {key}:\n{out}")
    return m.group(1)


def py(code):
    return ["-ex", f"python {code}"]


# ---- 1. fib(30) ------------------------------------------------------------

def bench_fib(stub, runs, n=30):
    fasm, lua_src, out = (FIB_FASM, FIB_LUA, FIB_OUT) if n == 30 else (FIB35_FASM, FIB35_LUA, FIB35_OUT)
    flux, lua = [], []
    for i in range(runs):
        f, l = pair(i, lambda: run_timed([stub, "run", fasm], expect_rc=int(out) & 0xFF, expect_out=out),
                    lambda: run_timed(["lua5.4", lua_src], expect_rc=0, expect_out=out))
        flux.append(f)
        lua.append(l)
    return flux, lua


# ---- 2. continue with breakpoints and a watchpoint armed ---------------------

def gdb_continue(stub, armed):
    srv = flux_server(stub, LOOP_FASM)
    try:
        args = ["-ex", f"target remote 127.0.0.1:{srv.port}"]
        if armed:
            for a in LOOP_BREAKPOINTS:
                args += ["-ex", f"break *{a:#x}"]
            args += ["-ex", f"watch *(int*){LOOP_WATCH:#x}"]
        args += py("import time; t0 = time.perf_counter()")
        args += ["-ex", "continue"]
        args += py("dt = time.perf_counter() - t0; "
                   "print('RESULT secs=%.6f' % dt); "
                   "print('RESULT exit=%s' % gdb.parse_and_eval('$_exitcode')); "
                   "print('RESULT bps=%d' % len([b for b in gdb.breakpoints() if b.type == gdb.BP_BREAKPOINT])); "
                   "print('RESULT hwwatch=%d' % len([b for b in gdb.breakpoints() if b.type == gdb.BP_HARDWARE_WATCHPOINT]))")
        t0 = time.perf_counter()
        out = gdb_session(args, "continue")
        session = time.perf_counter() - t0
        stub_out = srv.wait()
    finally:
        srv.stop()
    if result(out, "exit") != str(LOOP_EXIT) or LOOP_OUT not in stub_out:
        raise BenchError(f"gdb continue: wrong result (exit {result(out, 'exit')}, output {stub_out!r}):\n{out}")
    if armed and (result(out, "bps") != "10" or result(out, "hwwatch") != "1"):
        raise BenchError(f"gdb continue: breakpoints/watchpoint not armed as asked:\n{out}")
    return float(result(out, "secs")), session


def bench_continue(stub, runs):
    armed, bare, plain, sessions = [], [], [], []
    for i in range(runs):
        # the plain run is the peer of both gdb figures: armed, plain, bare
        # on even pairs; bare, plain, armed on odd ones
        if i % 2:
            bare.append(gdb_continue(stub, armed=False)[0])
        (secs, session), p = pair(i, lambda: gdb_continue(stub, armed=True),
                                  lambda: run_timed([stub, "run", LOOP_FASM], expect_rc=LOOP_EXIT, expect_out=LOOP_OUT))
        if i % 2 == 0:
            bare.append(gdb_continue(stub, armed=False)[0])
        armed.append(secs)
        sessions.append(session)
        plain.append(p)
    return armed, plain, bare, sessions


# ---- 4. a conditional breakpoint hit 20,000 times: stub-side vs gdb-side ------

def gdb_cond_continue(stub, program, setup):
    """Times gdb's `continue` to the exit with `setup` commands given first."""
    srv = flux_server(stub, program)
    try:
        args = ["-ex", f"target remote 127.0.0.1:{srv.port}"]
        for c in setup:
            args += ["-ex", c]
        args += py("import time; t0 = time.perf_counter()")
        args += ["-ex", "continue"]
        args += py("dt = time.perf_counter() - t0; "
                   "print('RESULT secs=%.6f' % dt); "
                   "print('RESULT exit=%s' % gdb.parse_and_eval('$_exitcode'))")
        out = gdb_session(args, "conditional continue")
        srv.wait()
    finally:
        srv.stop()
    return float(result(out, "secs")), result(out, "exit"), out


def bench_cond_hits(stub, runs):
    """Seconds: monitor break (the peer of the CLI's agent expression, and
    of gdb/MI's), the agent expression from the CLI, from gdb/MI, gdb-side,
    and the agent-expression runs gdb-side is paired with."""
    stub_side, stub_mi, agent, agent_mi, gdb_side, agent_paired = [], [], [], [], [], []
    cli = [f"break *{HITS_ADDR:#x} if $r1 == 999"]
    mi = [f"interpreter-exec mi \"-break-insert -c \\\"$r1 == 999\\\" *{HITS_ADDR:#x}\""]
    # once, not timed: the condition does go to the stub, from both
    for setup in (cli, mi):
        _, code, out = gdb_cond_continue(stub, HITS_FASM, ["set debug remote 1", *setup])
        if code != "0" or f"Z0,{HITS_ADDR:x},1;X" not in out:
            raise BenchError(f"the condition did not reach the stub as an agent expression:\n{out}")
    def stub_run():
        secs, code, out = gdb_cond_continue(stub, HITS_FASM, [f"monitor break {HITS_ADDR:#x} if r1 == 999"])
        if code != "0" or "breakpoint 1 at" not in out:
            raise BenchError(f"stub-side conditional breakpoint: unexpected session:\n{out}")
        return secs

    def agent_run(setup):
        # gdb hands the condition to the stub (ConditionalBreakpoints+): it is
        # evaluated in the VM's loop, as monitor break's is
        secs, code, out = gdb_cond_continue(stub, HITS_FASM, setup)
        if code != "0":
            raise BenchError(f"agent-expression conditional breakpoint: unexpected session:\n{out}")
        return secs

    def gdb_run():
        # gdb-side: every hit is a stop, a register read and a resume over the socket
        secs, code, out = gdb_cond_continue(stub, HITS_FASM, ["set breakpoint condition-evaluation host", *cli])
        if code != "0":
            raise BenchError(f"gdb-side conditional breakpoint: unexpected session:\n{out}")
        return secs

    # gdb-side is slow (20,000 round trips): it runs in every third pair, in
    # turn with that pair's agent-expression run, never after all of them
    for i in range(runs):
        a, st = pair(i, lambda: agent_run(cli), stub_run)
        a_mi, st_mi = pair(i + 1, lambda: agent_run(mi), stub_run)
        agent.append(a)
        agent_mi.append(a_mi)
        stub_side.append(st)
        stub_mi.append(st_mi)
        if i % 3 == 0:
            g, a2 = pair(i // 3, gdb_run, lambda: agent_run(cli))
            gdb_side.append(g)
            agent_paired.append(a2)
    return stub_side, stub_mi, agent, agent_mi, gdb_side, agent_paired


# ---- 5. continue with 5 stub-side conditional breakpoints and 2 watch-if ------

def bench_flux_hooks(stub, runs):
    setup = [f"monitor break {a:#x} if r1 == -1 && conf2 < 0.5" for a in LOOP_BREAKPOINTS[:5]]
    setup += ["monitor watch-if energy < 1000", f"monitor watch-if mem32[{LOOP_WATCH:#x}] != 0"]
    armed, plain = [], []

    def hooked():
        secs, code, out = gdb_cond_continue(stub, LOOP_FASM, setup)
        if code != str(LOOP_EXIT) or "watch 7:" not in out:
            raise BenchError(f"continue with FLUX hooks: unexpected session:\n{out}")
        return secs

    for i in range(runs):
        a, p = pair(i, hooked, lambda: run_timed([stub, "run", LOOP_FASM], expect_rc=LOOP_EXIT, expect_out=LOOP_OUT))
        armed.append(a)
        plain.append(p)
    return armed, plain


# ---- 6. recording ---------------------------------------------------------------

LOOP_HALT = 0x22   # benches/loop.fasm's HALT
FIB_HALT = 0x0B    # benches/fib30.fasm's HALT


def bench_record_run(stub, runs, tmp):
    rec, plain = [], []
    path = os.path.join(tmp, "fib30.replay")
    for i in range(runs):
        r, p = pair(i, lambda: run_timed([stub, "run", FIB_FASM, "--record", path], expect_rc=832040 & 0xFF, expect_out=FIB_OUT),
                    lambda: run_timed([stub, "run", FIB_FASM], expect_rc=832040 & 0xFF, expect_out=FIB_OUT))
        rec.append(r)
        plain.append(p)
    return rec, plain, os.path.getsize(path)


def gdb_continue_to(stub, program, halt, extra, setup=(), after=()):
    """Times gdb's `continue` to a breakpoint at `halt`; returns (secs, record status line, output)."""
    srv = flux_server(stub, program, extra)
    try:
        args = ["-ex", f"target remote 127.0.0.1:{srv.port}", "-ex", f"break *{halt:#x}"]
        for c in setup:
            args += ["-ex", c]
        args += py("import time; t0 = time.perf_counter()")
        args += ["-ex", "continue"]
        args += py("dt = time.perf_counter() - t0; print('RESULT secs=%.6f' % dt)")
        args += ["-ex", "monitor record status"]
        for c in after:
            args += ["-ex", c]
        args += ["-ex", "kill"]
        out = gdb_session(args, "continue to HALT", any_status=True)
        srv.wait()
    finally:
        srv.stop()
    status = next((l for l in out.splitlines() if l.startswith(("recording:", "not recording"))), "")
    return float(result(out, "secs")), status, out


def history_bytes_per_million(status):
    m = re.search(r"instructions 0\.\.(\d+) recorded.*?(\d+) checkpoints, (\d+) bytes", status)
    if not m:
        raise BenchError(f"no record status: {status!r}")
    instr, cps, size = int(m.group(1)), int(m.group(2)), int(m.group(3))
    return instr, cps, size, size / (instr / 1e6)


def bench_record_continue(stub, runs):
    rec, plain = [], []
    for i in range(runs):
        (secs, status, _), p = pair(i, lambda: gdb_continue_to(stub, LOOP_FASM, LOOP_HALT, ["--record"]),
                                    lambda: gdb_continue_to(stub, LOOP_FASM, LOOP_HALT, [])[0])
        rec.append(secs)
        plain.append(p)
    return rec, plain, history_bytes_per_million(status)


# ---- 8. tracing in the stub ---------------------------------------------------

def continue_armed_vs_plain(stub, runs, tmp, program, halt, setup, save, saved):
    """Per pair: gdb `continue` to `halt` with the `setup` monitor commands
    armed, then `monitor SAVE` (into the save directory `tmp`), against a
    plain `continue`; and the seconds the save took.  `saved` is a line the
    save's answer must hold."""
    armed, plain, saves = [], [], []
    timer = py("import time; t1 = time.perf_counter()")
    # the stub writes only inside its save directory
    after = [*timer, "-ex", f"monitor {save}", *py("print('RESULT save=%.6f' % (time.perf_counter() - t1))")]

    def armed_run():
        secs, _, out = gdb_continue_to(stub, program, halt, ["--save-dir", tmp], setup=setup, after=after)
        if saved not in out:
            raise BenchError(f"monitor {save}: unexpected session:\n{out}")
        saves.append(float(result(out, "save")))
        return secs

    for i in range(runs):
        t, p = pair(i, armed_run, lambda: gdb_continue_to(stub, program, halt, [])[0])
        armed.append(t)
        plain.append(p)
    return armed, plain, saves


def bench_trace_continue(stub, runs, tmp):
    return continue_armed_vs_plain(stub, runs, tmp, LOOP_FASM, LOOP_HALT, ["monitor trace on"],
                                   "trace save ring.txt", "saved 100000 records")


# ---- 7. reverse-stepi at the end of a long recording --------------------------

def bench_reverse_stepi(stub, runs, steps):
    """reverse-stepi against stepi over the same instructions, in one gdb session
    per run. The first step back from the end is timed alone (it re-runs from
    the last checkpoint: a cost of its own, reported apart). Then `steps`
    instructions each way, the direction timed first alternating between runs,
    so that neither pays alone for whatever the first timed command costs
    (gdb's caches, the stub's buffers): even runs step back then forward over
    the window below, odd runs forward to the end then back. Both end where
    they began, `steps` instructions before the end."""
    back, fwd, first, status = [], [], [], ""
    for i in range(runs):
        srv = flux_server(stub, FIB_FASM, ["--record"])
        try:
            args = ["-ex", f"target remote 127.0.0.1:{srv.port}", "-ex", f"break *{FIB_HALT:#x}", "-ex", "continue",
                    "-ex", "delete", "-ex", "monitor record status"]
            args += py("import time; t0 = time.perf_counter()")
            args += ["-ex", "reverse-stepi"]
            args += py("print('RESULT first=%.6f' % (time.perf_counter() - t0))")
            if steps > 1:
                args += ["-ex", f"reverse-stepi {steps - 1}"]
            order = [("back", "reverse-stepi"), ("fwd", "stepi")]
            for name, cmd in (order if i % 2 == 0 else order[::-1]):
                args += py("t0 = time.perf_counter()")
                args += ["-ex", f"{cmd} {steps}"]
                args += py(f"print('RESULT {name}=%.6f' % (time.perf_counter() - t0))")
            args += ["-ex", "monitor when", "-ex", "kill"]
            out = gdb_session(args, "reverse-stepi", any_status=True)
            srv.wait()
        finally:
            srv.stop()
        status = next((l for l in out.splitlines() if l.startswith("recording:")), "")
        instr = history_bytes_per_million(status)[0]
        if f"instruction {instr - steps} of 0..{instr}" not in out:
            raise BenchError(f"reverse-stepi and stepi did not end {steps} instructions before the end:\n{out}")
        back.append(steps / float(result(out, "back")))
        fwd.append(steps / float(result(out, "fwd")))
        first.append(float(result(out, "first")))
    return back, fwd, first, history_bytes_per_million(status)


# ---- 12. history queries at the end of a long recording -----------------------

QUERY_WORD = "mem32[0xFFF8]"   # fib(30)'s first frame: n, then fib(n-1)


def query_command(q):
    """The monitor command of a bench_queries key: a query of QUERY_WORD, or
    one that names its operand (a register: answered by tracing the spans)."""
    return q if " " in q else f"{q} {QUERY_WORD}"


def query_rows(q_times, q_plain, ok):
    """The history-query rows: the stack-word queries judged on the issue's
    aim (<= 0.1x a plain run), the register query for information."""
    rows = []
    for q in q_times:
        r = paired(q_times[q], q_plain)
        name = f"monitor {query_command(q)}, end of fib(30), vs run"
        if " " in q:
            rows.append((f"  (info) {name}", ms(q_times[q]), ms(q_plain), f"{r:.3f}x", f"{min(q_times[q]) / min(q_plain):.3f}x", "-", "-"))
        else:
            rows.append((name, ms(q_times[q]), ms(q_plain), f"{r:.3f}x", f"{min(q_times[q]) / min(q_plain):.3f}x", "<= 0.1x", ok(r <= 0.1)))
    return rows


def bench_queries(stub, runs):
    """Per run: the seconds of `monitor origin`, `last-write`, `history` of
    QUERY_WORD at the end of a fib(30) recording, and of a plain run."""
    qs = {"origin": [], "last-write": [], "history": [], "history r5": []}
    plain = []
    for i in range(runs):
        def queries():
            srv = flux_server(stub, FIB_FASM, ["--record"])
            try:
                args = ["-ex", f"target remote 127.0.0.1:{srv.port}", "-ex", f"break *{FIB_HALT:#x}", "-ex", "continue",
                        "-ex", "delete"]
                for q in qs:
                    args += py("import time; t0 = time.perf_counter()")
                    args += ["-ex", f"monitor {query_command(q)}"]
                    args += py(f"print('RESULT {q.replace(' ', '_')}=%.6f' % (time.perf_counter() - t0))")
                args += ["-ex", "kill"]
                out = gdb_session(args, "history queries", any_status=True)
                srv.wait()
            finally:
                srv.stop()
            if "2 writes" not in out or ": origin" not in out:
                raise BenchError(f"the queries did not answer as expected:\n{out}")
            if "\n0 writes" not in out:
                raise BenchError(f"history r5 (never written by fib) did not answer as expected:\n{out}")
            return {q: float(result(out, q.replace(" ", "_"))) for q in qs}
        got, p = pair(i, queries, lambda: run_timed([stub, "run", FIB_FASM], expect_rc=832040 & 0xFF, expect_out=FIB_OUT))
        for q in qs:
            qs[q].append(got[q])
        plain.append(p)
    return qs, plain


# ---- 13. the run database ------------------------------------------------------

FIB25_FASM = os.path.join(BENCHES, "fib25.fasm")


def bench_collect(stub, runs, tmp):
    """Per run: the seconds of `collect` of fib(25) into a fresh database and
    of `run --record` of fib(25); and the rows each collect wrote."""
    coll, rec, rows = [], [], []
    db = os.path.join(tmp, "fib25.db")
    path = os.path.join(tmp, "fib25.replay")

    def collect():
        if os.path.exists(db):
            os.remove(db)
        t0 = time.perf_counter()
        p = subprocess.run([stub, "collect", FIB25_FASM, "--db", db], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=T_PROC)
        dt = time.perf_counter() - t0
        out = p.stdout.decode(errors="replace")
        m = re.search(r"; (\d+) rows in \d+ layers$", out.strip())
        if p.returncode != 0 or not m or "exited with code 17" not in out:
            raise BenchError(f"collect: exit status {p.returncode}: {out}{p.stderr.decode(errors='replace')}")
        rows.append(int(m.group(1)))
        return dt
    bulk = []
    for i in range(runs):
        c, r = pair(i, collect, lambda: run_timed([stub, "run", FIB25_FASM, "--record", path], expect_rc=75025 & 0xFF, expect_out="75025"))
        coll.append(c)
        rec.append(r)
        bulk.append(sqlite_bulk_insert(db, os.path.join(tmp, "bulk.db")))
    return coll, rec, rows, bulk


def sqlite_bulk_insert(db, fresh):
    """The peer of `collect`: SQLite itself (Python's sqlite3, the same
    pragmas collect gives a new file) loading the rows collect wrote, table by
    table, into a fresh database of the same schema: one executemany per table
    in one transaction each, the indices created after loading.  The rows are
    read into memory first; only the loading is timed."""
    import sqlite3
    src = sqlite3.connect(db)
    tables = src.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"
                         " AND name NOT LIKE 'sqlite_%'").fetchall()
    indices = [r[0] for r in src.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
    data = {name: src.execute(f'SELECT * FROM "{name}"').fetchall() for name, _ in tables}
    src.close()
    if os.path.exists(fresh):
        os.remove(fresh)
    dst = sqlite3.connect(fresh, isolation_level=None)
    dst.execute("PRAGMA synchronous = OFF")
    dst.execute("PRAGMA journal_mode = MEMORY")
    dst.execute("PRAGMA temp_store = MEMORY")
    dst.execute("PRAGMA cache_size = -65536")
    for _, sql in tables:
        dst.execute(sql)
    t0 = time.perf_counter()
    for name, _ in tables:
        rows = data[name]
        if not rows:
            continue
        dst.execute("BEGIN")
        dst.executemany(f'INSERT INTO "{name}" VALUES ({",".join("?" * len(rows[0]))})', rows)
        dst.execute("COMMIT")
    for sql in indices:
        dst.execute(sql)
    dt = time.perf_counter() - t0
    dst.close()
    return dt


def collect_rows(coll, rec, rows, bulk):
    r, b = paired(coll, rec), min(coll) / min(rec)
    per_s = [n / t for n, t in zip(rows, coll)]
    return [
        ("fib(25): collect --db vs run --record", ms(coll), ms(rec), f"{r:.2f}x", f"{b:.2f}x", "-", "-"),
        ("fib(25): collect --db vs SQLite loading the same rows and indices", ms(coll), ms(bulk),
         f"{paired(coll, bulk):.2f}x", f"{min(coll) / min(bulk):.2f}x", "-", "-"),
        (f"  (info) rows per second ({rows[0]} rows per run): collect vs SQLite's bulk load", rate(per_s),
         rate([n / t for n, t in zip(rows, bulk)]), "-", "-", "-", "-"),
    ]


# ---- 15. profiling in the stub -------------------------------------------------

def bench_profile_continue(stub, runs, tmp):
    """Per pair: gdb `continue` over fib(30) profiled (counts and timeline) and
    not; and the seconds `monitor profile save` took after the profiled one."""
    return continue_armed_vs_plain(stub, runs, tmp, FIB_FASM, FIB_HALT,
                                   ["monitor profile events 10000000", "monitor profile on"],
                                   "profile save p.json", "saved the profile (")


def profile_rows(profiled, plain, saves):
    r, b = paired(profiled, plain), min(profiled) / min(plain)
    return [
        ("gdb continue over fib(30): profile on (counts + timeline) vs off", ms(profiled), ms(plain), f"{r:.2f}x", f"{b:.2f}x", "-", "-"),
        ("  (info) monitor profile save of it (evented speedscope file)", ms(saves), "-", "-", "-", "-", "-"),
    ]


# ---- 9. recording memory ------------------------------------------------------

def run_record_memory(stub, program, path):
    """`run PROGRAM --record PATH`: (file bytes, peak RSS bytes), the RSS from
    GNU time (Python's own would count: a child's peak includes its parent's
    memory from before the exec)."""
    p = subprocess.run(["/usr/bin/time", "-f", "RESULT rss_kb=%M", stub, "run", program, "--record", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=T_PROC)
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0:
        raise BenchError(f"run --record {program}: exit status {p.returncode}: {err}")
    return os.path.getsize(path), int(result(err, "rss_kb")) * 1024


def serve_record_memory(stub, program, halt, extra=()):
    """gdb `continue` to `halt` under `serve --record`: (instructions, history
    bytes, peak RSS bytes, status line); the stub's VmHWM is read while it serves."""
    srv = Server([stub, "serve", program, "--listen", "127.0.0.1:0", "--once", "--record", *extra],
                 r"flux-gdbstub: listening on 127\.0\.0\.1:(\d+)")
    try:
        hwm = (f"print('RESULT hwm_kb=' + [l for l in open('/proc/{srv.proc.pid}/status')"
               f" if l.startswith('VmHWM')][0].split()[1])")
        args = ["-ex", f"target remote 127.0.0.1:{srv.port}", "-ex", f"break *{halt:#x}", "-ex", "continue",
                "-ex", "monitor record status", *py(hwm), "-ex", "kill"]
        out = gdb_session(args, f"serve --record {program}", any_status=True)
        srv.wait()
    finally:
        srv.stop()
    status = next((l for l in out.splitlines() if l.startswith("recording:")), "")
    instr, _, size, _ = history_bytes_per_million(status)
    return instr, size, int(result(out, "hwm_kb")) * 1024, status


def bench_record_memory(stub, tmp):
    """Recording memory and file size, RNG loop vs plain loop, and a page-writing loop under a limit."""
    res = {}
    for name, prog, halt in (("rng", RNG_LOOP, RNG_LOOP_HALT), ("plain", PLAIN_LOOP, PLAIN_LOOP_HALT)):
        size, rss = run_record_memory(stub, prog, os.path.join(tmp, f"{name}.replay"))
        instr, hist, srss, _ = serve_record_memory(stub, prog, halt)
        res[name] = dict(file=size, run_rss=rss, instr=instr, hist=hist, serve_rss=srss)
    instr, hist, srss, status = serve_record_memory(stub, PAGES_LOOP, PAGES_LOOP_HALT,
                                                    ["--record-limit", str(PAGES_LIMIT)])
    res["pages"] = dict(instr=instr, hist=hist, serve_rss=srss, status=status)
    return res


def memory_rows(res):
    mb = lambda b: f"{b / (1 << 20):.1f} MiB"
    per_m = lambda b, r: b / (r["instr"] / 1e6)
    rng, plain = res["rng"], res["plain"]
    rows = []
    for label, key, fmt in (("file bytes / M instr.", "file", lambda b: f"{b:.0f} B"),
                            ("peak RSS", "run_rss", mb)):
        a, b = per_m(rng[key], rng), per_m(plain[key], plain)
        if key == "run_rss":
            a, b = rng[key], plain[key]
        rows.append((f"run --record rng vs plain loop: {label}", fmt(a), fmt(b), f"{a / b:.2f}x", "-", "<= 2x", "yes" if a <= 2 * b else "NO"))
    for label, key, fmt in (("history bytes / M instr.", "hist", lambda b: f"{b:.0f} B"),
                            ("peak RSS", "serve_rss", mb)):
        a, b = per_m(rng[key], rng), per_m(plain[key], plain)
        if key == "serve_rss":
            a, b = rng[key], plain[key]
        rows.append((f"serve --record rng vs plain loop: {label}", fmt(a), fmt(b), f"{a / b:.2f}x", "-", "<= 2x", "yes" if a <= 2 * b else "NO"))
    pg = res["pages"]
    rows.append(("serve --record pages_loop, limit 64 MiB: history", mb(pg["hist"]), mb(PAGES_LIMIT),
                 f"{pg['hist'] / PAGES_LIMIT:.2f}x", "-", "<= 1x", "yes" if pg["hist"] <= PAGES_LIMIT else "NO"))
    rows.append(("  (info) its peak RSS", mb(pg["serve_rss"]), "-", "-", "-", "-", "-"))
    notes = [f"       recording memory: rng_loop/plain_loop {rng['instr']} instructions; files {rng['file']} vs {plain['file']} bytes;"
             f" histories {rng['hist']} vs {plain['hist']} bytes; pages_loop {pg['instr']} instructions: {pg['status']}"]
    return rows, notes


# ---- 10. PCT against chaos on a depth-3 bug -------------------------------------

PCT_FASM = os.path.join(ROOT, "examples", "pct_depth3.fasm")


def explore_hits(stub, sched, seeds):
    """Runs `explore` over seeds 0..N: (runs that exit 1 (the bug), PCT's k or None)."""
    argv = [stub, "explore", PCT_FASM, "--seeds", f"0..{seeds}", "--sched", sched]
    if sched == "pct":
        argv += ["--depth", "3"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=3600, env=dict(os.environ, RUST_LOG="info"))
    if p.returncode not in (0, 1) or f"{seeds} runs, " not in p.stdout:
        raise BenchError(f"explore --sched {sched}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    hits = 0
    for line in p.stdout.splitlines():
        m = re.match(r"\s*(\d+) runs? +\(first seed \d+\): exit 1;", line)
        if m:
            hits = int(m.group(1))
    k = re.search(r"change points drawn from instructions 1\.\.(\d+)", p.stderr)
    return hits, int(k.group(1)) if k else None


def bench_pct(stub, seeds):
    pct, k = explore_hits(stub, "pct", seeds)
    chaos, _ = explore_hits(stub, "chaos", seeds)
    if k is None:
        raise BenchError("explore --sched pct did not log its steps")
    return dict(seeds=seeds, pct=pct, chaos=chaos, k=k, bound=1.0 / (2 * k ** 2))


def pct_rows(r):
    fp, fc = r["pct"] / r["seeds"], r["chaos"] / r["seeds"]
    ratio = f"{fp / fc:.0f}x" if fc else ("inf" if fp else "-")
    rows = [
        (f"depth-3 bug, {r['seeds']} seeds: pct --depth 3 vs chaos (hit fraction)", f"{fp:.4f}", f"{fc:.4f}",
         ratio, "-", ">= 10x", "yes" if fp >= 10 * fc and fp > 0 else "NO"),
        ("  pct --depth 3 vs its bound 1/(n·k^2)", f"{fp:.4f}", f"{r['bound']:.2e}",
         f"{fp / r['bound']:.2e}x" if r["bound"] else "-", "-", ">= 1x", "yes" if fp >= r["bound"] else "NO"),
    ]
    notes = [f"       depth-3 bug: pct_depth3.fasm, {r['pct']} of {r['seeds']} PCT runs and {r['chaos']} chaos runs hit it;"
             f" n = 2 agents, k = {r['k']} steps"]
    return rows, notes


# ---- 11. explore throughput ------------------------------------------------------

RACE_FASM = os.path.join(ROOT, "examples", "fizzbuzz_race.fasm")
DASK_DRIVER = os.path.join(ROOT, "scripts", "explore_dask.py")


def explore_timed(argv, seeds):
    """Wall seconds and stdout of one explore (exit 0 or 1 with its report)."""
    t0 = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=T_PROC * 5)
    dt = time.perf_counter() - t0
    if p.returncode not in (0, 1) or f"{seeds} runs, " not in p.stdout:
        raise BenchError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return dt, p.stdout


def bench_explore(stub, runs, race_seeds=10000, long_seeds=400, dask_seeds=60000):
    """Seconds per explore: (race cov, race nocov, long cov, long nocov, dask, jobs2, dask on 2 seeds,
    reports equal)."""
    rc, rn, lc, ln, dk, j2, d0 = [], [], [], [], [], [], []
    same = True
    for i in range(runs):
        base = [stub, "explore", RACE_FASM, "--seeds", f"0..{race_seeds}", "--jobs", "1"]
        a, b = pair(i, lambda: explore_timed(base, race_seeds)[0], lambda: explore_timed(base + ["--no-coverage"], race_seeds)[0])
        rc.append(a)
        rn.append(b)
        base = [stub, "explore", PCT_FASM, "--seeds", f"0..{long_seeds}", "--jobs", "1"]
        a, b = pair(i, lambda: explore_timed(base, long_seeds)[0], lambda: explore_timed(base + ["--no-coverage"], long_seeds)[0])
        lc.append(a)
        ln.append(b)
        outs = {}

        def dask():
            t, outs["dask"] = explore_timed(["python3", DASK_DRIVER, "--stub", stub, RACE_FASM, "--seeds", f"0..{dask_seeds}",
                                             "--local-workers", "2", "--shards", "8"], dask_seeds)
            return t

        def jobs2():
            t, outs["jobs2"] = explore_timed([stub, "explore", RACE_FASM, "--seeds", f"0..{dask_seeds}", "--jobs", "2"], dask_seeds)
            return t

        a, b = pair(i, dask, jobs2)
        dk.append(a)
        j2.append(b)
        same = same and outs["dask"] == outs["jobs2"]
        # the driver's fixed cost: a LocalCluster started for 2 seeds
        d0.append(explore_timed(["python3", DASK_DRIVER, "--stub", stub, RACE_FASM, "--seeds", "0..2",
                                 "--local-workers", "2", "--shards", "2"], 2)[0])
    return dict(rc=rc, rn=rn, lc=lc, ln=ln, dk=dk, j2=j2, d0=d0, same=same, race_seeds=race_seeds, long_seeds=long_seeds,
                dask_seeds=dask_seeds)


def explore_rows(r):
    def per_s(xs, n):
        return f"{n / min(xs):.0f}/s ({n / statistics.median(xs):.0f})"
    rows = [
        (f"explore fizzbuzz_race, 1 core: coverage vs --no-coverage (runs/s)", per_s(r["rc"], r["race_seeds"]), per_s(r["rn"], r["race_seeds"]),
         f"{paired(r['rc'], r['rn']):.2f}x", f"{min(r['rc']) / min(r['rn']):.2f}x", "-", "-"),
        (f"explore pct_depth3 (~200k instr./run), 1 core: same", per_s(r["lc"], r["long_seeds"]), per_s(r["ln"], r["long_seeds"]),
         f"{paired(r['lc'], r['ln']):.2f}x", f"{min(r['lc']) / min(r['ln']):.2f}x", "-", "-"),
        (f"fizzbuzz_race {r['dask_seeds']} seeds: Dask 2 workers vs --jobs 2 (time)", ms(r["dk"]), ms(r["j2"]),
         f"{paired(r['dk'], r['j2']):.2f}x", f"{min(r['dk']) / min(r['j2']):.2f}x", "-", "same report" if r["same"] else "REPORTS DIFFER"),
        ("  (info) Dask 2 workers: the driver for 2 seeds (its fixed cost)", ms(r["d0"]), "-", "-", "-", "-", "-"),
    ]
    notes = [f"       explore: runs/s are best (median); the Dask time includes starting its LocalCluster;"
             f" speed-up of Dask over --jobs 2 = 1 / the ratio"]
    return rows, notes


# ---- 3. stepi rate ------------------------------------------------------------

def build_native(tmp):
    src = os.path.join(tmp, "spin.c")
    exe = os.path.join(tmp, "spin")
    with open(src, "w") as f:
        f.write(NATIVE_C)
    subprocess.run(["timeout", "60", "gcc", "-O0", "-g", "-o", exe, src], check=True, timeout=70)
    return exe


STEP_TIMER = ("import time; t0 = time.perf_counter()",
              "dt = time.perf_counter() - t0; print('RESULT secs=%.6f' % dt)")


def flux_stepi(stub, steps, debug=False):
    srv = flux_server(stub, LOOP_FASM)
    try:
        args = ["-ex", f"target remote 127.0.0.1:{srv.port}"]
        args += packet_count_args(steps, debug)
        args += ["-ex", "kill"]
        out = gdb_session(args, "flux stepi", any_status=True)
        srv.wait()
    finally:
        srv.stop()
    return out


def native_stepi(exe, steps, debug=False):
    srv = native_server(exe)
    try:
        args = ["-ex", f"file {exe}", "-ex", f"target remote 127.0.0.1:{srv.port}",
                "-ex", "break main", "-ex", "continue"]
        args += packet_count_args(steps, debug)
        args += ["-ex", "kill"]
        out = gdb_session(args, "gdbserver stepi", any_status=True)
        srv.wait()
    finally:
        srv.stop()
    return out


def packet_count_args(steps, debug):
    """Either time `stepi steps`, or log the packets of `stepi steps` (debug)."""
    if debug:
        return ["-ex", "set debug remote 1", "-ex", f"stepi {steps}", "-ex", "set debug remote 0",
                *py("print('RESULT done=1')")]
    return [*py(STEP_TIMER[0]), "-ex", f"stepi {steps}", *py(STEP_TIMER[1])]


def packets_per_step(out, steps):
    sent = re.findall(r"Sending packet: \$([a-zA-Z?]+)", out)
    counts = {}
    for s in sent:
        key = s[:5] if s.startswith("vCont") else s[:1] if s[0] in "mgpZz" else s
        counts[key] = counts.get(key, 0) + 1
    total = len(sent) / steps
    detail = ", ".join(f"{k} {v / steps:.1f}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    return total, detail


def bench_stepi(stub, runs, steps, tmp):
    exe = build_native(tmp)
    flux, native = [], []
    for i in range(runs):
        f, n = pair(i, lambda: steps / float(result(flux_stepi(stub, steps), "secs")),
                    lambda: steps / float(result(native_stepi(exe, steps), "secs")))
        flux.append(f)
        native.append(n)
    # Where the time goes: remote-protocol round trips per step, from a short logged run.
    n = 20
    fp = packets_per_step(flux_stepi(stub, n, debug=True), n)
    np_ = packets_per_step(native_stepi(exe, n, debug=True), n)
    return flux, native, fp, np_


# ---- 10. DAP next vs gdb next ------------------------------------------------

class DapClient:
    """A minimal DAP client over `flux-gdbstub dap`'s stdin/stdout."""

    def __init__(self, stub):
        self.proc = subprocess.Popen(["timeout", "-k", "5", str(T_PROC), stub, "dap"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.seq = 0

    def send(self, command, arguments=None):
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command,
                           "arguments": arguments or {}}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def read(self):
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise BenchError("flux-gdbstub dap closed its output")
            line = line.strip()
            if not line:
                break
            if line.startswith(b"Content-Length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def until(self, kind, name):
        while True:
            m = self.read()
            if m.get("type") == "response" and not m.get("success"):
                raise BenchError(f"DAP {m.get('command')} failed: {m.get('message')}")
            if m.get("type") == kind and m.get("event" if kind == "event" else "command") == name:
                return m

    def close(self):
        try:
            self.send("disconnect")
            self.proc.stdin.close()
            self.proc.wait(timeout=T_PROC)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def dap_next(stub, steps):
    c = DapClient(stub)
    try:
        c.send("initialize", {"adapterID": "flux"})
        c.until("response", "initialize")
        c.send("launch", {"program": LOOP_FASM, "stopOnEntry": True, "record": False})
        c.until("response", "launch")
        c.send("configurationDone")
        c.until("event", "stopped")
        t0 = time.perf_counter()
        for _ in range(steps):
            c.send("next", {"threadId": 1})
            c.until("event", "stopped")
        dt = time.perf_counter() - t0
    finally:
        c.close()
    return steps / dt


def gdb_next(stub, elf, steps):
    srv = flux_server(stub, elf)
    try:
        args = ["-ex", f"target remote 127.0.0.1:{srv.port}", *py(STEP_TIMER[0]), "-ex", f"next {steps}",
                *py(STEP_TIMER[1]), "-ex", "kill"]
        out = gdb_session(args, "gdb next", any_status=True)
        srv.wait()
    finally:
        srv.stop()
    return steps / float(result(out, "secs"))


def bench_dap_next(stub, runs, steps, tmp):
    elf = os.path.join(tmp, "loop.elf")
    subprocess.run([stub, "asm", LOOP_FASM, "-o", elf, "--elf"], check=True, timeout=T_PROC)
    dap, gdb = [], []
    for i in range(runs):
        d, g = pair(i, lambda: dap_next(stub, steps), lambda: gdb_next(stub, elf, steps))
        dap.append(d)
        gdb.append(g)
    return dap, gdb


# ---- the table ----------------------------------------------------------------

def ms(xs):
    f = lambda x: f"{x * 1e3:.0f}" if x >= 0.01 else f"{x * 1e3:.2f}"
    return f"{f(min(xs))} ms (med {f(statistics.median(xs))})"


def rate(xs):
    return f"{max(xs):.0f}/s (med {statistics.median(xs):.0f})"


def table(rows, head=("measurement", "FLUX", "peer", "ratio (median of pairs)", "ratio best", "goal", "met")):
    cols = list(zip(head, *rows))
    widths = [max(len(c) for c in col) for col in cols]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
    lines = [fmt(head), fmt(tuple("-" * w for w in widths))]
    lines += [fmt(r) for r in rows]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stub", required=True, help="the flux-gdbstub binary")
    ap.add_argument("--runs", type=int, default=7, help="pairs of runs of each measurement (goals judged on the median per-pair ratio)")
    ap.add_argument("--steps", type=int, default=2000, help="stepi count per gdb session")
    ap.add_argument("--out", help="also write the table to this file")
    ap.add_argument("--only", choices=["memory", "speed", "pct", "dap", "queries", "explore", "rundb", "profile"],
                    help="measure only this (memory: 9, recording memory; speed: the rows with speed goals,"
                         " 1, 2, 3, run --record of 6, and 7; pct: 10, PCT vs chaos; dap: 11, DAP next;"
                         " queries: 12, history queries; explore: 13, explore throughput; rundb: 14, the run database;"
                         " profile: 15, profiling in the stub)")
    ap.add_argument("--pct-seeds", type=int, default=4000, help="seeds per scheduler for the depth-3 bug")
    a = ap.parse_args()
    if a.runs < 1 or a.steps < 1:
        ap.error("--runs and --steps must be at least 1")
    for tool in ("gdb", "gdbserver", "lua5.4", "gcc", "timeout", "/usr/bin/time"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found (scripts/setup.sh installs it)")

    def emit(lines):
        """Prints the table's lines, and with --out writes them there too."""
        text = "\n".join(lines) + "\n"
        sys.stdout.write(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text)
        return 0

    if a.only == "explore":
        log(f"13/14 explore throughput: coverage vs --no-coverage on one core; Dask 2 workers vs --jobs 2, {a.runs} runs each")
        rows, notes = explore_rows(bench_explore(a.stub, a.runs))
        return emit(table(rows) + [""] + notes +
                    [f"       machine: {os.cpu_count()} CPUs, load average {' '.join('%.2f' % x for x in os.getloadavg())}"])
    if a.only == "pct":
        log(f"10/14 depth-3 bug: explore --sched pct --depth 3 vs chaos, seeds 0..{a.pct_seeds}")
        rows, notes = pct_rows(bench_pct(a.stub, a.pct_seeds))
        return emit(table(rows) + [""] + notes)
    tmp = tempfile.mkdtemp(prefix="flux-bench-")
    if a.only == "profile":
        try:
            log(f"15 gdb continue over fib(30) with profiling on (counts and timeline) vs off, {a.runs} runs each")
            rows = profile_rows(*bench_profile_continue(a.stub, a.runs, tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return emit(table(rows))
    if a.only == "rundb":
        try:
            log(f"13/14 collect fib(25) into a run database vs run --record, {a.runs} runs each")
            rows = collect_rows(*bench_collect(a.stub, a.runs, tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return emit(table(rows))
    if a.only == "queries":
        q_times, q_plain = bench_queries(a.stub, a.runs)
        rows = query_rows(q_times, q_plain, lambda b: "yes" if b else "NO")
        return emit(table(rows))
    if a.only == "dap":
        try:
            log(f"11/14 next {a.steps}: DAP (flux-gdbstub dap) vs gdb (serve), {a.runs} runs each")
            d_dap, d_gdb = bench_dap_next(a.stub, a.runs, a.steps, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        r_d, b_d = paired(d_dap, d_gdb), max(d_dap) / max(d_gdb)
        return emit(table([(f"next {a.steps}: DAP vs gdb through the stub", rate(d_dap), rate(d_gdb),
                            f"{r_d:.2f}x", f"{b_d:.2f}x", ">= 1x", "yes" if r_d >= 1.0 else "NO")]))
    if a.only == "memory":
        try:
            log("9/14 recording memory: rng_loop vs plain_loop; pages_loop under --record-limit")
            mem_rows, mem_notes = memory_rows(bench_record_memory(a.stub, tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return emit(table(mem_rows) + [""] + mem_notes)
    # --only speed: the rows of the speed goals alone (fib, continue with
    # breakpoints, stepi, run --record, reverse-stepi)
    speed_only = a.only == "speed"
    try:
        log(f"1/14 fib(35) and fib(30): flux-gdbstub run vs lua5.4, {a.runs} runs each")
        fib35_flux, fib35_lua = bench_fib(a.stub, a.runs, n=35)
        fib_flux, fib_lua = bench_fib(a.stub, a.runs)
        log(f"2/14 gdb continue over loop.fasm (10 breakpoints + 1 watchpoint) vs plain run, {a.runs} runs each")
        c_armed, c_plain, c_bare, c_sessions = bench_continue(a.stub, a.runs)
        log(f"3/14 stepi {a.steps}: gdb+flux-gdbstub vs gdb+gdbserver, {a.runs} runs each")
        s_flux, s_native, s_fp, s_np = bench_stepi(a.stub, a.runs, a.steps, tmp)
        if not speed_only:
            log("4/14 a conditional breakpoint hit 20,000 times: break if (agent expression; CLI and MI) vs monitor break,"
                " and gdb-side (condition-evaluation host) vs agent expression")
            h_stub, h_stub_mi, h_agent, h_agent_mi, h_gdb, h_agent_g = bench_cond_hits(a.stub, a.runs)
            log("5/14 gdb continue over loop.fasm with 5 stub-side conditional breakpoints + 2 watch-if vs plain run")
            f_armed, f_plain = bench_flux_hooks(a.stub, a.runs)
        log(f"6/14 recording: run --record vs run (fib30); gdb continue with serve --record vs without (loop.fasm)")
        rr_rec, rr_plain, rr_size = bench_record_run(a.stub, a.runs, tmp)
        if not speed_only:
            rc_rec, rc_plain, rc_hist = bench_record_continue(a.stub, a.runs)
        rs_steps = max(2, a.steps // 4)
        log(f"7/14 reverse-stepi {rs_steps} vs stepi {rs_steps} at the end of a fib(30) recording")
        rs_back, rs_fwd, rs_first, rs_hist = bench_reverse_stepi(a.stub, a.runs, rs_steps)
        if not speed_only:
            log(f"8/14 gdb continue over loop.fasm with monitor trace on vs without")
            t_on, t_off, t_save = bench_trace_continue(a.stub, a.runs, tmp)
            log("9/14 recording memory: rng_loop vs plain_loop; pages_loop under --record-limit")
            mem_rows, mem_notes = memory_rows(bench_record_memory(a.stub, tmp))
            log(f"10/14 depth-3 bug: explore --sched pct --depth 3 vs chaos, seeds 0..{a.pct_seeds}")
            pct_r, pct_notes = pct_rows(bench_pct(a.stub, a.pct_seeds))
            log(f"11/14 next {a.steps}: DAP (flux-gdbstub dap) vs gdb (serve), {a.runs} runs each")
            d_dap, d_gdb = bench_dap_next(a.stub, a.runs, a.steps, tmp)
            log(f"12/14 history queries (origin, last-write, history of {QUERY_WORD}) at the end of fib(30) vs a plain run")
            q_times, q_plain = bench_queries(a.stub, a.runs)
            log(f"13/14 explore throughput: coverage vs --no-coverage on one core; Dask 2 workers vs --jobs 2")
            ex_r, ex_notes = explore_rows(bench_explore(a.stub, a.runs))
            log(f"14/14 collect fib(25) into a run database vs run --record, {a.runs} runs each")
            db_rows = collect_rows(*bench_collect(a.stub, a.runs, tmp))
            log(f"15 gdb continue over fib(30) with profiling on (counts and timeline) vs off, {a.runs} runs each")
            db_rows += profile_rows(*bench_profile_continue(a.stub, a.runs, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def ok(b):
        return "yes" if b else "NO"

    # goals are judged on the median of the per-pair ratios (r_*); the
    # best-of-N ratios (b_*) are for information
    r_fib35, b_fib35 = paired(fib35_flux, fib35_lua), min(fib35_flux) / min(fib35_lua)
    r_fib, b_fib = paired(fib_flux, fib_lua), min(fib_flux) / min(fib_lua)
    r_cont, b_cont = paired(c_armed, c_plain), min(c_armed) / min(c_plain)
    r_bare, b_bare = paired(c_bare, c_plain), min(c_bare) / min(c_plain)
    r_step, b_step = paired(s_flux, s_native), max(s_flux) / max(s_native)
    r_rr, b_rr = paired(rr_rec, rr_plain), min(rr_rec) / min(rr_plain)
    # time per step: forward rate / reverse rate, both from one session
    r_rs, b_rs = paired(rs_fwd, rs_back), max(rs_fwd) / max(rs_back)
    rows = [
        ("fib(35): run vs lua5.4", ms(fib35_flux), ms(fib35_lua),
         f"{r_fib35:.2f}x", f"{b_fib35:.2f}x", "<= 0.8x", ok(r_fib35 <= 0.8)),
        ("fib(30): run vs lua5.4", ms(fib_flux), ms(fib_lua),
         f"{r_fib:.2f}x", f"{b_fib:.2f}x", "<= 2x", ok(r_fib <= 2.0)),
        ("gdb continue, 10 bp + 1 watch, vs run", ms(c_armed), ms(c_plain),
         f"{r_cont:.2f}x", f"{b_cont:.2f}x", "<= 1.1x", ok(r_cont <= 1.1)),
        ("  (info) gdb continue, nothing armed", ms(c_bare), ms(c_plain),
         f"{r_bare:.2f}x", f"{b_bare:.2f}x", "-", "-"),
        (f"stepi {a.steps}: flux-gdbstub vs gdbserver", rate(s_flux), rate(s_native),
         f"{r_step:.2f}x", f"{b_step:.2f}x", ">= 1.5x", ok(r_step >= 1.5)),
    ]
    if not speed_only:
        r_agent, b_agent = paired(h_agent, h_stub), min(h_agent) / min(h_stub)
        r_agent_mi, b_agent_mi = paired(h_agent_mi, h_stub_mi), min(h_agent_mi) / min(h_stub_mi)
        r_hits, b_hits = paired(h_gdb, h_agent_g), min(h_gdb) / min(h_agent_g)
        r_flux, b_flux = paired(f_armed, f_plain), min(f_armed) / min(f_plain)
        rows += [
            ("20k cond. hits: break if (agent expr.) vs monitor break", ms(h_agent), ms(h_stub),
             f"{r_agent:.2f}x", f"{b_agent:.2f}x", "<= 2x", ok(r_agent <= 2.0)),
            ("  the same through gdb/MI -break-insert -c", ms(h_agent_mi), ms(h_stub_mi),
             f"{r_agent_mi:.2f}x", f"{b_agent_mi:.2f}x", "<= 2x", ok(r_agent_mi <= 2.0)),
            ("  gdb-side (host evals) vs agent expression", ms(h_gdb), ms(h_agent_g),
             f"{r_hits:.0f}x faster", f"{b_hits:.0f}x faster", ">= 50x faster", ok(r_hits >= 50.0)),
            ("continue, 5 cond bp + 2 watch-if, vs run", ms(f_armed), ms(f_plain),
             f"{r_flux:.2f}x", f"{b_flux:.2f}x", "<= 1.5x", ok(r_flux <= 1.5)),
        ]
    rows.append(("fib(30): run --record vs run", ms(rr_rec), ms(rr_plain),
                 f"{r_rr:.2f}x", f"{b_rr:.2f}x", "<= 1.1x", ok(r_rr <= 1.1)))
    if not speed_only:
        r_rc, b_rc = paired(rc_rec, rc_plain), min(rc_rec) / min(rc_plain)
        rows.append(("continue loop.fasm: serve --record vs not", ms(rc_rec), ms(rc_plain),
                     f"{r_rc:.2f}x", f"{b_rc:.2f}x", "<= 1.2x", ok(r_rc <= 1.2)))
    rows.append(("reverse-stepi vs stepi, end of fib(30)", rate(rs_back), rate(rs_fwd),
                 f"{r_rs:.2f}x", f"{b_rs:.2f}x", "<= 1x", ok(r_rs <= 1.0)))
    rows.append(("  (info) the first reverse-stepi from the end", ms(rs_first), "-", "-", "-", "-", "-"))
    if not speed_only:
        r_tr, b_tr = paired(t_on, t_off), min(t_on) / min(t_off)
        rows += [
            ("continue loop.fasm: trace on vs off", ms(t_on), ms(t_off),
             f"{r_tr:.2f}x", f"{b_tr:.2f}x", "<= 3x", ok(r_tr <= 3.0)),
            ("  (info) then monitor trace save, 100k records", ms(t_save), "-", "-", "-", "-", "-"),
            *mem_rows,
            *pct_r,
        ]
        r_d, b_d = paired(d_dap, d_gdb), max(d_dap) / max(d_gdb)
        rows.append((f"next {a.steps}: DAP vs gdb through the stub", rate(d_dap), rate(d_gdb),
                     f"{r_d:.2f}x", f"{b_d:.2f}x", ">= 1x", ok(r_d >= 1.0)))
        rows += query_rows(q_times, q_plain, ok)
        rows += ex_r
        rows += db_rows
    lines = [f"FLUX benchmarks: {a.runs} pairs of runs (FLUX and peer back to back, which goes first alternating);"
             f" times are best (median in brackets); ratios are FLUX / peer; 'met' judges the median of the"
             f" per-pair ratios", ""]
    lines += table(rows)
    lines += [
        "",
        f"notes: loop.fasm runs ~120 M instructions, fib(35) ~240 M; the continue figure is the time of gdb's"
        f" `continue` command alone (whole gdb sessions took best {min(c_sessions) * 1e3:.0f} ms, median"
        f" {statistics.median(c_sessions) * 1e3:.0f} ms).",
    ]
    if not speed_only:
        lines.append("       20k cond. hits: `break *0x6 if $r1 == 999` reaches the stub as an agent expression and is checked"
                     " in the VM, as `monitor break 0x6 if r1 == 999` is; with `set breakpoint condition-evaluation host`"
                     " gdb evaluates it itself (a stop and a round trip per hit; the ratio there is host / agent).")
    lines.append(f"       remote packets per stepi: flux-gdbstub {s_fp[0]:.1f} ({s_fp[1]});"
                 f" gdbserver {s_np[0]:.1f} ({s_np[1]})")
    rec = f"       recording: fib(30) replay file {rr_size} bytes;"
    if not speed_only:
        rec += (f" loop.fasm history {rc_hist[0]} instructions,"
                f" {rc_hist[1]} checkpoints, {rc_hist[2]} bytes = {rc_hist[3]:.0f} bytes per million instructions;")
    rec += f" fib(30) history {rs_hist[0]} instructions, {rs_hist[2]} bytes = {rs_hist[3]:.0f} bytes per million"
    lines.append(rec)
    if not speed_only:
        lines += mem_notes
        lines += pct_notes
        lines += ex_notes
    lines += [
        "       reverse-stepi ratio: time per reverse step / time per forward step over the same instructions,"
        " the direction timed first alternating; the first step back from the end is timed apart",
        f"       machine: {os.cpu_count()} CPUs, load average {' '.join('%.2f' % x for x in os.getloadavg())}",
    ]
    return emit(lines)


if __name__ == "__main__":
    # Killed from outside (scripts/bench.sh's timeout): stop the servers we started on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except (BenchError, subprocess.SubprocessError, OSError) as e:
        print(f"bench: error: {e}", file=sys.stderr)
        sys.exit(1)
