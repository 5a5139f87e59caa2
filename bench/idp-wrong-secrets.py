#!/usr/bin/env python3
"""Helpers of bench/idp-wrong-secrets.sh (stdlib only). Two subcommands:

  attack  --port P --ca CA.pem [--connections 64] [--seconds 30]
      Wrong-secret client-credentials requests for the Orders daemon on
      --connections keep-alive HTTPS connections, one request in flight on
      each, until --seconds pass or SIGINT/SIGTERM arrives. Every request
      carries a different random wrong secret. Each connection is bound to
      its own loopback source address (127.0.0.2, 127.0.0.3, ...: Linux
      routes all of 127/8 to lo), so the provider's per-client-and-source
      throttle (10 failures a minute) does not answer them from memory:
      when a source is answered 429 the connection moves to the next unused
      address, up to --max-sources addresses in all. Prints "READY" on
      stderr once every connection has sent its first request, and on
      stdout one JSON object: the answers by status (401: argon2 ran and
      refused the secret; 429: throttled without argon2; 503: the hashing
      queue was full), their latencies, the sources and handshakes used.

  phase   --port P --ca CA.pem --url TOKEN_URL --server-pid PID [--attack]
      One measured phase: wrk (bench/idp-token.lua, paced, a fixed number of
      valid client-credentials requests, every answer checked to be a 200
      with an access token) on --client-cpu; with --attack, the attacker
      above runs on the same CPU, starting --ramp seconds before wrk and
      stopped when wrk is done. Prints one JSON object: wrk's RESULT
      fields, the attacker's report, and the CPU use meanwhile (the
      server's, each core's busy and steal time, the load generators').

Loopback only; everything is bounded in count and time.
"""

import argparse
import asyncio
import ipaddress
import json
import os
import re
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

TENANT = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b"
DAEMON = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8"
SCOPE = "api://8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c/.default"
TICK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))


# ------------------------------------------------------------------ attack


class Attack:
    def __init__(self, a):
        self.a = a
        self.ctx = ssl.create_default_context(cafile=a.ca)
        self.first = int(ipaddress.IPv4Address(a.first_source))
        self.next_source = 0
        self.sources_used = 0
        self.handshakes = 0
        self.started = 0
        self.by_status = {}
        self.latency_ms = {}
        self.sample_body = {}
        self.errors = {}
        self.ready = asyncio.Event()
        self.stopping = asyncio.Event()

    def source(self):
        """The next unused loopback source address (127.0.0.1 is the valid stream's)."""
        i = self.next_source % self.a.max_sources
        if self.next_source < self.a.max_sources:
            self.sources_used += 1
        self.next_source += 1
        return str(ipaddress.IPv4Address(self.first + i))

    def form(self):
        return urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": DAEMON,
                "client_secret": "wrong-" + secrets.token_urlsafe(18),
                "scope": SCOPE,
            }
        ).encode()

    async def request(self, reader, writer):
        body = self.form()
        writer.write(
            (
                f"POST /{TENANT}/oauth2/v2.0/token HTTP/1.1\r\n"
                f"Host: localhost:{self.a.port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        await writer.drain()
        self.started += 1
        if self.started >= self.a.connections:
            self.ready.set()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            data = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data += await reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            data = b""
        return status, data, headers.get("connection", "").lower() == "close"

    async def one_connection(self, deadline):
        loop = asyncio.get_running_loop()
        writer = None
        try:
            while not self.stopping.is_set() and loop.time() < deadline:
                if writer is None:
                    reader, writer = await asyncio.open_connection(
                        "127.0.0.1",
                        self.a.port,
                        ssl=self.ctx,
                        server_hostname="localhost",
                        local_addr=(self.source(), 0),
                    )
                    self.handshakes += 1
                t0 = loop.time()
                try:
                    status, data, close = await asyncio.wait_for(
                        self.request(reader, writer), self.a.timeout
                    )
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as e:
                    name = type(e).__name__
                    self.errors[name] = self.errors.get(name, 0) + 1
                    writer.close()
                    writer = None
                    await asyncio.sleep(0.05)
                    continue
                key = str(status)
                self.by_status[key] = self.by_status.get(key, 0) + 1
                self.latency_ms.setdefault(key, []).append(1000 * (loop.time() - t0))
                self.sample_body.setdefault(key, data[:200].decode("utf-8", "replace"))
                if status == 429 or close:
                    # This source is throttled (or the server closed): next address.
                    writer.close()
                    writer = None
        except asyncio.CancelledError:
            pass
        finally:
            if writer is not None:
                writer.close()

    async def run(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        t0 = loop.time()
        deadline = t0 + self.a.seconds
        tasks = [asyncio.create_task(self.one_connection(deadline)) for _ in range(self.a.connections)]

        async def announce():
            await self.ready.wait()
            print("READY", file=sys.stderr, flush=True)

        announcer = asyncio.create_task(announce())
        stopper = asyncio.create_task(self.stopping.wait())
        await asyncio.wait([stopper, *tasks], timeout=self.a.seconds + 1, return_when=asyncio.FIRST_COMPLETED)
        # Stop: requests still waiting in the provider's queue are abandoned.
        self.stopping.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        announcer.cancel()
        wall = loop.time() - t0
        lat = {}
        for k, v in self.latency_ms.items():
            v.sort()
            lat[k] = {"p50": pct(v, 50), "p99": pct(v, 99), "max": v[-1]}
        answered = sum(self.by_status.values())
        print(
            json.dumps(
                {
                    "seconds": round(wall, 2),
                    "connections": self.a.connections,
                    "answered": answered,
                    "by_status": self.by_status,
                    "per_s": {k: round(n / wall, 1) for k, n in self.by_status.items()},
                    "latency_ms": lat,
                    "sample_body": self.sample_body,
                    "errors": self.errors,
                    "handshakes": self.handshakes,
                    "sources_used": self.sources_used,
                }
            )
        )


def pct(sorted_values, p):
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return round(sorted_values[i], 2)


# ------------------------------------------------------------------- phase


def cpu_times():
    """Per-core (busy, steal) seconds from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                out[int(m.group(1))] = ((v[0] + v[1] + v[2] + v[5] + v[6]) / TICK, v[7] / TICK)
    return out


def pid_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def reap(proc):
    """Waits for proc; returns (exit status, CPU seconds it used)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def phase(a):
    server_cpus = [int(c) for c in a.server_cpu.split(",")]
    attacker = None
    attack_report = None
    attack_log = tempfile.TemporaryFile()
    if a.attack:
        attacker = subprocess.Popen(
            ["taskset", "-c", a.client_cpu, sys.executable, os.path.abspath(__file__), "attack",
             "--port", str(a.port), "--ca", a.ca, "--connections", str(a.attack_connections),
             "--seconds", str(a.attack_seconds), "--first-source", a.first_source,
             "--max-sources", str(a.max_sources)],
            stdout=subprocess.PIPE, stderr=attack_log,
        )
        t_end = time.monotonic() + 15
        while time.monotonic() < t_end and attacker.poll() is None:
            attack_log.seek(0)
            if b"READY" in attack_log.read():
                break
            time.sleep(0.05)
        else:
            attack_log.seek(0)
            raise SystemExit(f"the attacker did not start: {attack_log.read()[-500:]!r}")
        time.sleep(a.ramp)

    with tempfile.TemporaryDirectory() as tmp:
        done = os.path.join(tmp, "done")
        env = dict(os.environ, RG_PACE_MS=str(a.pace_ms), RG_MAX_REQUESTS=str(a.requests), RG_DONE_FILE=done)
        cpu0, srv0, t0 = cpu_times(), pid_cpu(a.server_pid), time.monotonic()
        wrk = subprocess.Popen(
            ["taskset", "-c", a.client_cpu, "wrk", "-t1", f"-c{a.connections}", f"-d{a.max_seconds}s",
             "--timeout", "10s", "--latency", "-s", os.path.join(HERE, "idp-token.lua"), a.url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
        )
        while wrk.poll() is None and not os.path.exists(done):
            time.sleep(0.02)
        cpu1, srv1, t1 = cpu_times(), pid_cpu(a.server_pid), time.monotonic()
        if wrk.poll() is None:
            wrk.send_signal(signal.SIGINT)  # wrk prints its summary and exits
        wrk_out = wrk.stdout.read().decode("utf-8", "replace")
        wrk_rc, wrk_cpu = reap(wrk)

    attacker_cpu = 0.0
    if attacker is not None:
        if attacker.poll() is None:
            attacker.send_signal(signal.SIGINT)
        out = attacker.stdout.read().decode()
        rc, attacker_cpu = reap(attacker)
        attack_log.seek(0)
        try:
            attack_report = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise SystemExit(f"attacker failed (exit {rc}): {out[-300:]} {attack_log.read()[-500:]!r}")

    m = re.search(r"^RESULT (.*)$", wrk_out, re.M)
    if wrk_rc != 0 or not m:
        raise SystemExit(f"wrk failed (exit {wrk_rc}): {wrk_out[-800:]}")
    valid = {k: float(v) for k, v in re.findall(r"(\w+)=(\S+)", m.group(1))}
    bad = re.search(r"^FIRST_BAD (.*)$", wrk_out, re.M)
    wall = t1 - t0
    cores = {
        c: {"busy": round((cpu1[c][0] - cpu0[c][0]) / wall, 3), "steal": round((cpu1[c][1] - cpu0[c][1]) / wall, 3)}
        for c in sorted(cpu1)
    }
    server_cores = (srv1 - srv0) / wall
    busy_server = sum(cores[c]["busy"] for c in server_cpus)
    if int(a.client_cpu) in server_cpus:
        # The load generators share a core with the server: not "others".
        # (The attacker's CPU time covers its ramp too: an overestimate.)
        busy_server -= (wrk_cpu + attacker_cpu) / wall
    print(
        json.dumps(
            {
                "name": "attack" if a.attack else "idle",
                "valid": valid,
                "first_bad": bad.group(1) if bad else "",
                "attack": attack_report,
                "cpu": {
                    "wall_s": round(wall, 2),
                    "server_cores": round(server_cores, 3),
                    "cores": cores,
                    # What other processes (not the server, not the load
                    # generators) took of the server's cores.
                    "others_on_server_cpus": round(max(0.0, busy_server - server_cores), 3),
                    "steal_on_server_cpus": round(sum(cores[c]["steal"] for c in server_cpus), 3),
                    "wrk_cpu_s": round(wrk_cpu, 2),
                    "attacker_cpu_s": round(attacker_cpu, 2),
                },
            }
        )
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    at = sub.add_parser("attack")
    ph = sub.add_parser("phase")
    for p in (at, ph):
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--ca", required=True)
        p.add_argument("--first-source", default="127.0.0.2")
        p.add_argument("--max-sources", type=int, default=4096)
    at.add_argument("--connections", type=int, default=64)
    at.add_argument("--seconds", type=float, default=30)
    at.add_argument("--timeout", type=float, default=15, help="per request, seconds")
    ph.add_argument("--url", required=True)
    ph.add_argument("--server-pid", type=int, required=True)
    ph.add_argument("--server-cpu", default="0", help="the server's CPUs, e.g. 0 or 0,1")
    ph.add_argument("--client-cpu", default="1")
    ph.add_argument("--requests", type=int, default=2000)
    ph.add_argument("--connections", type=int, default=1)
    ph.add_argument("--pace-ms", type=int, default=4)
    ph.add_argument("--max-seconds", type=int, default=25, help="bound on the valid stream")
    ph.add_argument("--attack", action="store_true")
    ph.add_argument("--attack-connections", type=int, default=64)
    ph.add_argument("--attack-seconds", type=float, default=35, help="bound on the attacker")
    ph.add_argument("--ramp", type=float, default=2.0)
    a = ap.parse_args()
    if a.max_sources < 1 or a.max_sources > 8192:
        ap.error("--max-sources must be 1..8192 (the throttle remembers 10,000 keys)")
    if a.cmd == "attack":
        if not 1 <= a.connections <= 256 or not 0 < a.seconds <= 120:
            ap.error("--connections must be 1..256 and --seconds 0..120")
        asyncio.run(Attack(a).run())
    else:
        if not 1 <= a.requests <= 100_000 or not 1 <= a.max_seconds <= 120:
            ap.error("--requests must be 1..100000 and --max-seconds 1..120")
        phase(a)


if __name__ == "__main__":
    main()
