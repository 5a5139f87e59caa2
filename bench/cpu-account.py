#!/usr/bin/env python3
"""Runs a command and tells how much of one CPU core others took meanwhile.

  cpu-account.py --core 0 [--pid PID] [--child-on-core] --report FILE -- cmd...

The command's output passes through. FILE gets one JSON object:
  wall_s         wall-clock time of the command
  child_cpu_s    CPU time of the command (and its children)
  pid_cpu_s      CPU time of PID (e.g. the server) during the command
  core_busy_s    busy time of the core (user+nice+system+irq+softirq)
  steal_s        time the hypervisor took from the core
  other_s        core_busy_s minus what PID (and the command, with
                 --child-on-core) used there: other processes' share
  other_frac, steal_frac   the same over wall_s
  exit           the command's exit status

A benchmark pinned to the core is undisturbed when other_frac and
steal_frac are near zero.
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


def pid_cpu(pid):
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--core", type=int, required=True)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--child-on-core", action="store_true")
    ap.add_argument("--report", required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, steal0 = core_times(a.core)
    p0 = pid_cpu(a.pid)
    t0 = time.monotonic()
    rc = subprocess.call(cmd)
    wall = time.monotonic() - t0
    busy1, steal1 = core_times(a.core)
    p1 = pid_cpu(a.pid)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)

    child = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    busy, steal, own = busy1 - busy0, steal1 - steal0, p1 - p0
    other = max(0.0, busy - own - (child if a.child_on_core else 0.0))
    report = {
        "wall_s": round(wall, 3),
        "child_cpu_s": round(child, 3),
        "pid_cpu_s": round(own, 3),
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
