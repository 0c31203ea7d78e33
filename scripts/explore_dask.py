#!/usr/bin/env python3
"""`flux-gdbstub explore` spread over a Dask distributed cluster.

Splits the seed range into N shards, runs each as a Dask task
(`flux-gdbstub explore PROGRAM --seeds A..B --shard K/N --json --jobs 1 ...`
on a worker), and merges them with `flux-gdbstub explore merge`: the report
and exit status are exactly those of one `explore` over A..B.

  explore_dask.py --stub B PROGRAM --seeds A..B [--shards N]
                  [--scheduler ADDR | --local-workers W] [-- EXPLORE ARGS...]

(EXPLORE ARGS: --sched, --depth, --slice, --energy, ... as for explore.)

--scheduler tcp://HOST:8786 uses a running cluster (`dask scheduler` and
`dask worker` on the machines); --local-workers W (default 2) starts a
LocalCluster of W single-threaded worker processes on this machine.  Every
worker must reach the stub and the program at the same paths.  --shards
defaults to 4 per worker.  Exit status: explore's; 2 on a bad argument or a
missing engine (one line).
"""
import argparse
import os
import subprocess
import sys
import tempfile


def run_shard(stub, program, seeds, k, n, extra):
    """One shard on a worker: its JSON record (or raises with explore's error line)."""
    argv = [stub, "explore", program, "--seeds", seeds, "--shard", f"{k}/{n}", "--json", "--jobs", "1", *extra]
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip() or f"shard {k}/{n}: exit {p.returncode}")
    return p.stdout


def fail(msg):
    print(f"explore_dask: {msg}", file=sys.stderr)
    return 2


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stub", required=True, help="the flux-gdbstub binary (the same path on every worker)")
    ap.add_argument("program")
    ap.add_argument("--seeds", required=True, help="A..B or A..=B")
    ap.add_argument("--shards", type=int, help="tasks to split the seeds into (default: 4 per worker)")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://HOST:8786)")
    where.add_argument("--local-workers", type=int, default=2, help="a LocalCluster of W workers (default 2)")
    extra = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    a = ap.parse_args(argv)
    a.extra = extra
    # a failing shard is reported once, as explore's own line, not by every worker's log
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        return fail("Dask distributed is not installed (scripts/setup.sh installs it: pip install 'dask[distributed]')")
    stub, program = os.path.abspath(a.stub), os.path.abspath(a.program)
    if a.local_workers < 1 or (a.shards is not None and a.shards < 1):
        return fail("--local-workers and --shards must be at least 1")
    cluster = None
    try:
        if a.scheduler:
            client = Client(a.scheduler, timeout=30)
        else:
            # processes, one thread each: a shard is one flux-gdbstub process anyway
            cluster = LocalCluster(n_workers=a.local_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1")
            client = Client(cluster)
    except OSError as e:
        return fail(f"cannot reach the Dask scheduler: {e}")
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        n = a.shards or 4 * workers
        futures = [client.submit(run_shard, stub, program, a.seeds, k, n, a.extra, pure=False, key=f"flux-shard-{k}-of-{n}")
                   for k in range(n)]
        try:
            records = client.gather(futures)
        except RuntimeError as e:
            # explore's own one line (a bad seed range, depth, program ...)
            print(str(e).splitlines()[-1], file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory(prefix="flux-shards-") as tmp:
            files = []
            for k, rec in enumerate(records):
                path = os.path.join(tmp, f"shard-{k}.json")
                with open(path, "w") as f:
                    f.write(rec)
                files.append(path)
            p = subprocess.run([stub, "explore", "merge", *files])
            return p.returncode
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
