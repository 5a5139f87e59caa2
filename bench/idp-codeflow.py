#!/usr/bin/env python3
"""Load driver for the full SPA code flow against `rolegate idp` (stdlib only).

Signs alice in once through the sign-in page (hidden csrf + request fields,
as crates/idp/tests/it/code_flow.rs drives it), then repeats, on persistent
HTTPS connections trusting the provider's local CA:

  GET  /authorize (SSO cookie)   -> 302 Location: http://localhost:5173/#code=...
  POST /token (Origin header)    -> 200 {access_token, id_token, refresh_token}

Bounded by time and by count (whichever comes first). Prints one JSON object
on stdout: flows/s and p50/p90/p99 latencies (ms) of the whole flow and of
each step; exits 1 if any flow failed.

With --other-port (a second replica on the same database; --other-host and
--other-ca when they differ), every code is redeemed at the replica that did
not issue it: even workers authorize at --port and redeem at --other-port,
odd workers the reverse, all with the SSO session signed in at --port
(bench/idp-replicas.sh).
"""

import argparse
import html
import http.client
import json
import ssl
import sys
import threading
import time
import urllib.parse

TENANT = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b"
SPA = "2732dc92-37da-4c7f-a87a-1900d556a951"
SPA_ORIGIN = "http://localhost:5173"
SPA_REDIRECT = "http://localhost:5173/"
API = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c"
SCOPE = f"api://{API}/access_as_user openid profile offline_access"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


class Failure(Exception):
    pass


class Conn:
    """One persistent HTTPS connection, reopened if the server closes it."""

    def __init__(self, host, port, ctx, timeout):
        self.args = (host, port, ctx, timeout)
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        host, port, ctx, timeout = self.args
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, resp.getheaders(), data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection closed by the server: retry once on a new one.
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise Failure("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()


def authorize_path(state):
    query = urllib.parse.urlencode(
        {
            "client_id": SPA,
            "response_type": "code",
            "redirect_uri": SPA_REDIRECT,
            "scope": SCOPE,
            "state": state,
            "nonce": "n-" + state,
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
            "response_mode": "fragment",
        }
    )
    return f"/{TENANT}/oauth2/v2.0/authorize?{query}"


def header(headers, name):
    name = name.lower()
    return [v for k, v in headers if k.lower() == name]


def absorb_cookies(jar, headers):
    for v in header(headers, "set-cookie"):
        pair = v.split(";", 1)[0]
        if "=" in pair:
            k, val = pair.split("=", 1)
            jar[k.strip()] = val.strip()


def cookie_header(jar):
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def hidden(page, name):
    marker = f'name="{name}" value="'
    start = page.find(marker)
    if start < 0:
        raise Failure(f"no hidden field {name!r} in the sign-in page")
    start += len(marker)
    end = page.find('"', start)
    return html.unescape(page[start:end])


def code_from(location):
    if not location.startswith(SPA_REDIRECT + "#"):
        raise Failure(f"unexpected redirect: {location[:200]}")
    params = urllib.parse.parse_qs(location.split("#", 1)[1])
    if "code" not in params:
        raise Failure(f"no code in the redirect: {location[:300]}")
    return params["code"][0]


def sign_in(conn, user, password):
    """Drives the sign-in page once; returns the cookie jar (SSO session)."""
    jar = {}
    status, headers, body = conn.request("GET", authorize_path("signin"))
    absorb_cookies(jar, headers)
    if status != 200:
        raise Failure(f"authorize without a session: {status}, expected the sign-in page")
    page = body.decode("utf-8", "replace")
    form = urllib.parse.urlencode(
        {
            "csrf": hidden(page, "csrf"),
            "request": hidden(page, "request"),
            "username": user,
            "password": password,
        }
    )
    status, headers, body = conn.request(
        "POST",
        f"/{TENANT}/rolegate/login",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie_header(jar),
        },
    )
    absorb_cookies(jar, headers)
    # The session cookie is __Host-rolegate_session since 3e6b07f (it was
    # rolegate_session before).
    if status not in (302, 303) or not {"rolegate_session", "__Host-rolegate_session"} & jar.keys():
        raise Failure(f"sign-in failed: {status} {body[:300]!r}")
    code_from(header(headers, "location")[0])
    return jar


def one_flow(conn, jar, n, token_conn=None):
    """authorize (SSO) -> code -> token. Returns (authorize_s, token_s).
    The redemption goes over token_conn when given (another replica)."""
    t0 = time.perf_counter()
    status, headers, body = conn.request(
        "GET", authorize_path(f"s{n}"), headers={"Cookie": cookie_header(jar)}
    )
    t1 = time.perf_counter()
    if status not in (302, 303):
        raise Failure(f"authorize: {status} {body[:300]!r}")
    code = code_from(header(headers, "location")[0])
    form = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "client_id": SPA,
            "code": code,
            "redirect_uri": SPA_REDIRECT,
            "code_verifier": VERIFIER,
            "scope": SCOPE,
        }
    )
    status, headers, body = (token_conn or conn).request(
        "POST",
        f"/{TENANT}/oauth2/v2.0/token",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": SPA_ORIGIN,
        },
    )
    t2 = time.perf_counter()
    if status != 200:
        raise Failure(f"token: {status} {body[:300]!r}")
    tokens = json.loads(body)
    for k in ("access_token", "id_token", "refresh_token"):
        if not isinstance(tokens.get(k), str) or not tokens[k]:
            raise Failure(f"token response without {k}: {body[:300]!r}")
    return t1 - t0, t2 - t1


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="localhost")
    ap.add_argument("--ca", required=True, help="the provider's local CA (PEM)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-flows", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=20, help="flows run before measuring")
    ap.add_argument("--user", default="alice@contoso.test")
    ap.add_argument("--password", default="alice-Passw0rd")
    ap.add_argument("--other-port", type=int, help="a second replica: codes cross between the two")
    ap.add_argument("--other-host", help="the host of --other-port (default: --host)")
    ap.add_argument("--other-ca", help="the CA of --other-port (default: --ca)")
    args = ap.parse_args()
    if not (0 < args.seconds <= 300 and 0 < args.max_flows <= 100_000 and 0 < args.concurrency <= 32):
        ap.error("bounds: 0 < seconds <= 300, 0 < max-flows <= 100000, 0 < concurrency <= 32")

    ctx = ssl.create_default_context(cafile=args.ca)
    timeout = 10.0
    cross = args.other_port is not None
    other_ctx = ssl.create_default_context(cafile=args.other_ca) if args.other_ca else ctx

    def conns(w):
        """(authorize, redeem) connections of worker w; redeem is None
        without --other-port (the same connection)."""
        here = Conn(args.host, args.port, ctx, timeout)
        if not cross:
            return here, None
        there = Conn(args.other_host or args.host, args.other_port, other_ctx, timeout)
        return (here, there) if w % 2 == 0 else (there, here)

    first, first_token = conns(0)
    jar = sign_in(first, args.user, args.password)
    for i in range(args.warmup):
        one_flow(first, jar, -1 - i, first_token)
    first.close()
    if first_token is not None:
        first_token.close()

    lock = threading.Lock()
    issued = [0]
    flows, auth_lat, token_lat, errors = [], [], [], []
    deadline = [0.0]
    start_gate = threading.Barrier(args.concurrency + 1)

    def worker(w):
        conn, tconn = conns(w)
        try:
            try:
                # Open the TLS connections before the clock starts.
                for c in (conn, tconn):
                    if c is not None:
                        c.request("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration")
                start_gate.wait()
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(f"worker {w}: {e}")
                start_gate.abort()
                return
            while time.perf_counter() < deadline[0]:
                with lock:
                    if issued[0] >= args.max_flows:
                        return
                    issued[0] += 1
                    n = issued[0]
                try:
                    a, t = one_flow(conn, jar, n, tconn)
                except Exception as e:  # noqa: BLE001 - every failure is reported
                    with lock:
                        errors.append(f"flow {n}: {e}")
                        if len(errors) >= 20:
                            return
                    continue
                with lock:
                    auth_lat.append(a)
                    token_lat.append(t)
                    flows.append(a + t)
        finally:
            conn.close()
            if tconn is not None:
                tconn.close()

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(args.concurrency)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + args.seconds + 60
    try:
        start_gate.wait(timeout=30)
    except threading.BrokenBarrierError:
        deadline[0] = 0.0
    started = time.perf_counter()
    deadline[0] = started + args.seconds
    for t in threads:
        t.join(timeout=args.seconds + 3 * timeout)
    elapsed = time.perf_counter() - started

    def ms(values):
        s = sorted(values)
        return {p: round(percentile(s, p) * 1000, 2) for p in (50, 90, 99)} | {
            "max": round((s[-1] if s else 0) * 1000, 2)
        }

    result = {
        "flows": len(flows),
        "failed": len(errors),
        "seconds": round(elapsed, 3),
        "flows_per_s": round(len(flows) / elapsed, 1) if elapsed > 0 else 0,
        "concurrency": args.concurrency,
        "cross_replica": cross,
        "flow_ms": ms(flows),
        "authorize_ms": ms(auth_lat),
        "token_ms": ms(token_lat),
        "errors": errors[:5],
    }
    print(json.dumps(result))
    return 1 if errors or not flows else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(json.dumps({"flows": 0, "failed": 1, "errors": [str(e)]}))
        sys.exit(1)
