"""nginx `auth_request` in front of the echo upstream, deciding through
`rolegate gateway`'s /.rolegate/auth. Driven by run.sh, which passes:

    python3 test_nginx.py NGINX_URL ECHO_URL TOKEN

TOKEN is the Orders daemon's app-only token from `rolegate token get`
(roles: Orders.Read). Prints one line per test; exits 1 if any failed.
"""

import json
import sys
import urllib.error
import urllib.request

NGINX, ECHO, TOKEN = sys.argv[1], sys.argv[2], sys.argv[3]
TENANT = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b"
DAEMON = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8"
IDENTITY = [
    "x-rolegate-caller",
    "x-rolegate-oid",
    "x-rolegate-tid",
    "x-rolegate-sub",
    "x-rolegate-client-id",
    "x-rolegate-roles",
    "x-rolegate-scopes",
    "x-rolegate-name",
    "x-rolegate-preferred-username",
]
SPOOFED = {name: "spoofed" for name in IDENTITY}
SPOOFED["X-Rolegate-Roles"] = "Orders.Admin"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(base, path, token=None, method="GET", headers=None):
    request = urllib.request.Request(base + path, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with OPENER.open(request, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def upstream_count():
    status, _, body = call(ECHO, "/__count")
    assert status == 200, status
    return json.loads(body)["count"]


def refused(path, status, token=None, method="GET", headers=None):
    """Asserts nginx answers `status` and the upstream was not called."""
    before = upstream_count()
    got, response_headers, body = call(NGINX, path, token, method, headers)
    assert got == status, f"{method} {path}: {got}, wanted {status}: {body[:300]!r}"
    assert upstream_count() == before, f"{method} {path}: the upstream was called"
    return response_headers


def forwarded(path, token=None, headers=None):
    """Asserts a 200 from the upstream; returns the headers it received."""
    status, _, body = call(NGINX, path, token, "GET", headers)
    assert status == 200, f"GET {path}: {status}: {body[:300]!r}"
    seen = json.loads(body)
    assert seen["uri"] == path, seen
    headers = seen["headers"]
    # nginx passes the client's Authorization on; keep tokens out of messages.
    if "authorization" in headers:
        headers["authorization"] = headers["authorization"][:16] + "…"
    return headers


def test_no_token_is_401_with_the_challenge():
    h = refused("/orders/1", 401)
    # nginx passes the auth subrequest's WWW-Authenticate on with a 401.
    assert h.get("WWW-Authenticate") == "Bearer", h.get("WWW-Authenticate")


def test_invalid_token_is_401_invalid_token():
    broken = TOKEN[:-4] + ("AAAA" if not TOKEN.endswith("AAAA") else "BBBB")
    h = refused("/orders/1", 401, broken)
    challenge = h.get("WWW-Authenticate") or ""
    assert challenge.startswith('Bearer error="invalid_token"'), challenge


def test_token_without_the_role_is_403():
    refused("/admin/users", 403, TOKEN)


def test_spoofed_role_header_does_not_grant_the_role():
    refused("/admin/users", 403, TOKEN, headers=SPOOFED)


def test_method_is_passed_to_the_gateway():
    # /orders/* allows GET only and no other route covers POST: no_route,
    # which the gateway answers 403 on /.rolegate/auth.
    refused("/orders/1", 403, TOKEN, method="POST")


def test_no_route_is_403():
    refused("/elsewhere", 403, TOKEN)


def test_valid_token_reaches_the_upstream_with_the_identity():
    seen = forwarded("/orders/1?expand=lines", TOKEN)
    assert seen.get("x-rolegate-caller") == "app", seen
    assert seen.get("x-rolegate-roles") == "Orders.Read", seen
    assert seen.get("x-rolegate-tid") == TENANT, seen
    assert seen.get("x-rolegate-client-id") == DAEMON, seen
    assert seen.get("x-rolegate-oid"), seen
    assert seen.get("x-rolegate-sub"), seen
    # An app-only token has no scopes, name or user name: left out.
    for name in ["x-rolegate-scopes", "x-rolegate-name", "x-rolegate-preferred-username"]:
        assert name not in seen, (name, seen)


def test_spoofed_identity_headers_never_reach_the_upstream():
    seen = forwarded("/orders/2", TOKEN, SPOOFED)
    assert seen.get("x-rolegate-roles") == "Orders.Read", seen
    assert seen.get("x-rolegate-caller") == "app", seen
    assert seen.get("x-rolegate-client-id") == DAEMON, seen
    assert all(v != "spoofed" and "Orders.Admin" not in v for v in seen.values()), seen
    for name in ["x-rolegate-scopes", "x-rolegate-name", "x-rolegate-preferred-username"]:
        assert name not in seen, (name, seen)


def test_anonymous_route_drops_spoofed_identity_headers():
    seen = forwarded("/health", None, SPOOFED)
    leaked = [name for name in seen if name.startswith("x-rolegate-")]
    assert not leaked, seen


def main():
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    failed = 0
    for name, test in tests:
        try:
            test()
            print(f"[gateway-nginx] ok   {name}")
        except Exception as e:  # noqa: BLE001 (report every failure, then exit 1)
            failed += 1
            print(f"[gateway-nginx] FAIL {name}: {type(e).__name__}: {e}")
    print(f"[gateway-nginx] {len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
