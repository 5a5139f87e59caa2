#!/usr/bin/env python3
"""Runs a command and tells how much CPU a group of server processes used
meanwhile, and how much of one core everything else took.

  cpu-group.py --core 0 [--pid PID]... [--tree PID]... --report FILE -- cmd...

bench/cpu-account.py for several servers at once (bench/idp-replicas.sh:
one or two provider replicas and a PostgreSQL cluster on one core). --pid
counts one process (all its threads); --tree counts a process and its
children, as a PostgreSQL postmaster and its backends (children that start
during the command count from zero; children that exit during it are
missed, which the PostgreSQL connection pools of the provider make rare).

The command's output passes through. FILE gets one JSON object:
  wall_s          wall-clock time of the command
  child_cpu_s     CPU time of the command (and its children): the clients
  pids_cpu_s      CPU time of each --pid, by pid
  trees_cpu_s     CPU time of each --tree (the process and its children)
  servers_cpu_s   the sum of the two above
  core_busy_s     busy time of --core (user+nice+system+irq+softirq)
  steal_s         time the hypervisor took from --core
  other_s         core_busy_s minus servers_cpu_s: other processes' share
                  (when every server is pinned to --core)
  other_frac, steal_frac   the same over wall_s
  exit            the command's exit status
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def core_times(core):
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts[0] == f"cpu{core}":
                v = [int(x) for x in parts[1:]]
                busy = v[0] + v[1] + v[2] + v[5] + v[6]
                steal = v[7] if len(v) > 7 else 0
                return busy / TICK, steal / TICK
    raise SystemExit(f"no cpu{core} in /proc/stat")


def cpu_of(pid):
    """utime + stime of pid in seconds, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid):
    """The direct children of pid (every thread's list)."""
    out = set()
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out.update(int(c) for c in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return out


def tree_times(root):
    """{pid: cpu_s} of root and its children."""
    times = {}
    for pid in {root} | children(root):
        t = cpu_of(pid)
        if t is not None:
            times[pid] = t
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--core", type=int, required=True)
    ap.add_argument("--pid", type=int, action="append", default=[])
    ap.add_argument("--tree", type=int, action="append", default=[])
    ap.add_argument("--report", required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, steal0 = core_times(a.core)
    p0 = {pid: cpu_of(pid) or 0.0 for pid in a.pid}
    t0s = {root: tree_times(root) for root in a.tree}
    t0 = time.monotonic()
    rc = subprocess.call(cmd)
    wall = time.monotonic() - t0
    busy1, steal1 = core_times(a.core)
    p1 = {pid: cpu_of(pid) or p0[pid] for pid in a.pid}
    t1s = {root: tree_times(root) for root in a.tree}
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)

    pids = {str(pid): round(p1[pid] - p0[pid], 3) for pid in a.pid}
    trees = {}
    for root in a.tree:
        before, after = t0s[root], t1s[root]
        trees[str(root)] = round(sum(t - before.get(pid, 0.0) for pid, t in after.items()), 3)
    servers = sum(pids.values()) + sum(trees.values())
    child = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    busy, steal = busy1 - busy0, steal1 - steal0
    other = max(0.0, busy - servers)
    report = {
        "wall_s": round(wall, 3),
        "child_cpu_s": round(child, 3),
        "pids_cpu_s": pids,
        "trees_cpu_s": trees,
        "servers_cpu_s": round(servers, 3),
        "core_busy_s": round(busy, 3),
        "steal_s": round(steal, 3),
        "other_s": round(other, 3),
        "other_frac": round(other / wall, 4) if wall > 0 else 0,
        "steal_frac": round(steal / wall, 4) if wall > 0 else 0,
        "exit": rc,
    }
    with open(a.report, "w") as f:
        json.dump(report, f)
    return rc


if __name__ == "__main__":
    sys.exit(main())
