"""Unmodified MSAL Python against `rolegate idp` (started by e2e/run.sh).

Client credentials (Orders daemon; with a secret, and with a certificate),
ROPC (Orders CLI, bob), the token cache and the refresh-token grant through
acquire_token_silent, and device code (Orders CLI, carol). Every access token goes through `rolegate token check`
(the token library: must be valid, and authorized for the role the user
holds); every ID token must be refused by it.
"""

import base64
import json
import os
import re
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import msal
import msal.authority
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes


def _need(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run these tests through e2e/run.sh "
                    "(it starts rolegate idp and exports ROLEGATE_E2E_*)", returncode=2)
    return value


PORT = _need("ROLEGATE_E2E_PORT")
AUTHORITY = _need("ROLEGATE_E2E_AUTHORITY")  # https://localhost:<port>/<tenant id>
CA_FILE = _need("ROLEGATE_E2E_CA")
ROLEGATE = _need("ROLEGATE_E2E_BIN")

TENANT_ID = "7d3e1b5a-2f4c-4e8d-9a6b-0c1d2e3f4a5b"
ISSUER = f"https://localhost:{PORT}/{TENANT_ID}/v2.0"
API = "8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c"
API_SCOPE = f"api://{API}/access_as_user"
API_DEFAULT = f"api://{API}/.default"
DAEMON = "7fbf04bb-64db-4661-a8cd-d2d07d250ad8"
DAEMON_SECRET = "daemon-secret-8Qx3vT7pLm2Zr9Wc"
CLI = "c2e9bc59-4581-415a-9b7f-78e66989c5c8"
BOB = ("bob@contoso.test", "bob-Passw0rd", "1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6")
CAROL = ("carol@contoso.test", "carol-Passw0rd", "c0ffee00-1234-4abc-8def-0123456789ab")

# MSAL Python hands `verify=` to its requests.Session, but requests lets an
# exported REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`
# (merge_environment_settings), so on machines that export one (CI images
# often do) the local CA would be ignored and every call would fail
# certificate verification. These tests only talk to the loopback provider.
for _var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(_var, None)

# ROPC: before the token request MSAL Python asks
# https://{hostname}/common/userrealm/{user}?api-version=1.0 whether the user
# is managed or federated -- built from the authority's *hostname*, so it drops
# the port and goes to https://localhost:443, where nothing listens (the
# provider serves /common/userrealm on its own port, but MSAL never asks
# there). MSAL skips the lookup for hosts in this set (it adds a host itself
# after a 404). Private API of msal 1.39.0; no public option exists.
msal.authority.Authority._domains_without_user_realm_discovery.add("localhost")


def claims_of(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def token_check(token, require_role=None, audience=API):
    args = [ROLEGATE, "token", "check", token, "--authority", AUTHORITY,
            "--audience", audience, "--ca-file", CA_FILE, "--json"]
    if require_role:
        args += ["--require-role", require_role]
    run = subprocess.run(args, capture_output=True, text=True, timeout=60)
    try:
        report = json.loads(run.stdout)
    except ValueError:
        raise AssertionError(f"rolegate token check printed no JSON (exit {run.returncode}): "
                             f"{run.stdout!r} {run.stderr!r}")
    return run.returncode, report


def assert_tokens_ok(result):
    assert "error" not in result, result
    assert result["token_type"].lower() == "bearer"


def assert_user_access_token(token, oid, role):
    c = claims_of(token)
    assert c["aud"] == API
    assert c["iss"] == ISSUER
    assert c["ver"] == "2.0"
    assert c["tid"] == TENANT_ID
    assert c["scp"] == "access_as_user"
    assert c["azp"] == CLI
    assert c["oid"] == oid
    assert c.get("roles") == ([role] if role else None)
    return c


def assert_id_token_refused(id_token):
    for audience in (API, CLI):
        status, report = token_check(id_token, audience=audience)
        assert status == 1, f"--audience {audience} accepted the ID token: {report}"
        assert report["valid"] is False
        codes = {e["code"] for e in report["errors"]}
        assert report["token_kind"] == "id_token" or codes & {"id_token_not_accepted", "invalid_audience"}, report


# ------------------------------------------------------------ client credentials

def test_client_credentials():
    app = msal.ConfidentialClientApplication(
        DAEMON, client_credential=DAEMON_SECRET, authority=AUTHORITY,
        instance_discovery=False, verify=CA_FILE)
    result = app.acquire_token_for_client(scopes=[API_DEFAULT])
    assert_tokens_ok(result)
    assert result["token_source"] == "identity_provider"

    c = claims_of(result["access_token"])
    assert c["aud"] == API
    assert c["iss"] == ISSUER
    assert c["ver"] == "2.0"
    assert c["tid"] == TENANT_ID
    assert c["roles"] == ["Orders.Read"]
    assert "scp" not in c
    assert c["azp"] == DAEMON
    assert c.get("idtyp") == "app"

    status, report = token_check(result["access_token"], require_role="Orders.Read")
    assert status == 0, report["errors"]
    assert report["valid"] and report["authorized"] and report["token_kind"] == "access_token"

    again = app.acquire_token_for_client(scopes=[API_DEFAULT])
    assert again["token_source"] == "cache"
    assert again["access_token"] == result["access_token"]


# ------------------------------------------------------------ certificate credentials
# The certificates are made per run by e2e/certificates/make.py (in
# ROLEGATE_E2E_CERTS) and registered by e2e/certificates/apps.toml.

CERT_DAEMON = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
REPORTS = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"


def certificate(name):
    """(certificate PEM, private key PEM, SHA-1 thumbprint in hex) of this run's certificate `name`."""
    certs = _need("ROLEGATE_E2E_CERTS")
    with open(os.path.join(certs, f"{name}-cert.pem")) as f:
        pem = f.read()
    with open(os.path.join(certs, f"{name}-key.pem")) as f:
        key = f.read()
    sha1 = x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA1()).hex().upper()
    return pem, key, sha1


def recording_session():
    """A requests session trusting the local CA that records the form of every token request."""
    session = requests.Session()
    session.verify = CA_FILE
    forms = []

    def record(response, *args, **kwargs):
        if "/oauth2/v2.0/token" in response.request.url:
            body = response.request.body or ""
            body = body.decode() if isinstance(body, bytes) else body
            forms.append({k: v[0] for k, v in urllib.parse.parse_qs(body).items()})
    session.hooks["response"].append(record)
    return session, forms


def jwt_header(jwt):
    segment = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_client_credentials_with_a_certificate_thumbprint():
    """`{"private_key", "thumbprint"}`: RS256 + x5t; the cached assertion serves two token requests."""
    _, key, sha1 = certificate("daemon")
    session, forms = recording_session()
    app = msal.ConfidentialClientApplication(
        CERT_DAEMON, client_credential={"private_key": key, "thumbprint": sha1},
        authority=AUTHORITY, instance_discovery=False, http_client=session)
    result = app.acquire_token_for_client(scopes=[API_DEFAULT])
    assert_tokens_ok(result)
    c = claims_of(result["access_token"])
    assert c["aud"] == API
    assert c["azp"] == CERT_DAEMON
    assert c["azpacr"] == "2"
    assert c["roles"] == ["Orders.Read"]
    status, report = token_check(result["access_token"], require_role="Orders.Read")
    assert status == 0, report["errors"]

    # Another resource: a second token request within the assertion's lifetime.
    reports = app.acquire_token_for_client(scopes=[f"api://{REPORTS}/.default"])
    assert_tokens_ok(reports)
    assert reports["token_source"] == "identity_provider"
    assert claims_of(reports["access_token"])["aud"] == REPORTS

    assert len(forms) == 2, forms
    assert all(f["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" for f in forms)
    assert forms[0]["client_assertion"] == forms[1]["client_assertion"], \
        "MSAL Python re-sent its cached assertion, and the provider accepted it"
    header = jwt_header(forms[0]["client_assertion"])
    assert header["alg"] == "RS256"
    assert base64.urlsafe_b64decode(header["x5t"] + "=" * (-len(header["x5t"]) % 4)).hex().upper() == sha1


def test_client_credentials_with_a_public_certificate():
    """`{"private_key", "public_certificate"}`: MSAL computes the SHA-256 thumbprint and signs PS256 + x5t#S256 (+ x5c)."""
    pem, key, _ = certificate("daemon")
    session, forms = recording_session()
    app = msal.ConfidentialClientApplication(
        CERT_DAEMON, client_credential={"private_key": key, "public_certificate": pem},
        authority=AUTHORITY, instance_discovery=False, http_client=session)
    result = app.acquire_token_for_client(scopes=[API_DEFAULT])
    assert_tokens_ok(result)
    assert claims_of(result["access_token"])["azpacr"] == "2"
    header = jwt_header(forms[0]["client_assertion"])
    assert header["alg"] == "PS256" and "x5t#S256" in header and header.get("x5c"), header


def test_client_credentials_with_another_apps_certificate():
    _, key, sha1 = certificate("reports")
    app = msal.ConfidentialClientApplication(
        CERT_DAEMON, client_credential={"private_key": key, "thumbprint": sha1},
        authority=AUTHORITY, instance_discovery=False, verify=CA_FILE)
    result = app.acquire_token_for_client(scopes=[API_DEFAULT])
    assert result.get("error") == "invalid_client", result
    assert "AADSTS700027" in result.get("error_description", "")


def test_client_credentials_wrong_secret():
    app = msal.ConfidentialClientApplication(
        DAEMON, client_credential="not-the-secret", authority=AUTHORITY,
        instance_discovery=False, verify=CA_FILE)
    result = app.acquire_token_for_client(scopes=[API_DEFAULT])
    assert result.get("error") == "invalid_client", result
    assert "AADSTS7000215" in result.get("error_description", "")


# ------------------------------------------------------------ ROPC + silent

# MSAL Python warns that ROPC is deprecated for public clients; testing that
# the provider supports it (is_fallback_public_client) is the point here.
ropc_deprecation = pytest.mark.filterwarnings("ignore:This API has been deprecated:DeprecationWarning")

@pytest.fixture(scope="module")
def cli_app():
    return msal.PublicClientApplication(
        CLI, authority=AUTHORITY, instance_discovery=False, verify=CA_FILE)


@pytest.fixture(scope="module")
def bob_ropc(cli_app):
    return cli_app.acquire_token_by_username_password(BOB[0], BOB[1], scopes=[API_SCOPE])


@ropc_deprecation
def test_ropc(cli_app, bob_ropc):
    result = bob_ropc
    assert_tokens_ok(result)
    assert API_SCOPE in result["scope"].split()
    assert result.get("refresh_token"), "offline_access is always requested"
    assert_user_access_token(result["access_token"], BOB[2], "Orders.Read")

    status, report = token_check(result["access_token"], require_role="Orders.Read")
    assert status == 0, report["errors"]
    status, report = token_check(result["access_token"], require_role="Orders.Admin")
    assert status == 1 and report["valid"] and not report["authorized"], report

    idc = result["id_token_claims"]
    assert idc["aud"] == CLI
    assert idc["iss"] == ISSUER
    assert idc["tid"] == TENANT_ID
    assert idc["oid"] == BOB[2]
    assert idc["preferred_username"] == BOB[0]
    assert "scp" not in idc and "azp" not in idc
    assert_id_token_refused(result["id_token"])

    [account] = cli_app.get_accounts()
    assert account["home_account_id"] == f"{BOB[2]}.{TENANT_ID}"
    assert account["username"] == BOB[0]
    assert account["environment"] == "localhost"  # MSAL Python keeps the hostname only


@ropc_deprecation
def test_ropc_wrong_password(cli_app):
    result = cli_app.acquire_token_by_username_password(BOB[0], "wrong", scopes=[API_SCOPE])
    assert result.get("error") == "invalid_grant", result
    assert "AADSTS50126" in result.get("error_description", "")


@ropc_deprecation
def test_silent_from_cache_then_refresh(cli_app, bob_ropc):
    assert_tokens_ok(bob_ropc)
    account = next(a for a in cli_app.get_accounts() if a["username"] == BOB[0])

    cached = cli_app.acquire_token_silent([API_SCOPE], account=account)
    assert cached is not None, "nothing in the cache"
    assert cached["token_source"] == "cache"
    assert cached["access_token"] == bob_ropc["access_token"]

    refreshed = cli_app.acquire_token_silent([API_SCOPE], account=account, force_refresh=True)
    assert refreshed is not None, "acquire_token_silent(force_refresh=True) found no usable refresh token"
    assert_tokens_ok(refreshed)
    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != bob_ropc["access_token"]
    assert_user_access_token(refreshed["access_token"], BOB[2], "Orders.Read")
    status, report = token_check(refreshed["access_token"], require_role="Orders.Read")
    assert status == 0, report["errors"]
    if "id_token" in refreshed:
        assert claims_of(refreshed["id_token"])["aud"] == CLI
        assert_id_token_refused(refreshed["id_token"])


# ------------------------------------------------------------ device code

def _approve_device_code(verification_uri, user_code, user):
    """What the user does on another device: the verification page, over HTTPS, cookies kept."""
    context = ssl.create_default_context(cafile=CA_FILE)
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context),
        urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(verification_uri, timeout=15) as page:
        html = page.read().decode()
    def hidden(html, name):
        m = re.search(r'<input\b[^>]*\bname="%s"[^>]*\bvalue="([^"]*)"' % name, html) or \
            re.search(r'<input\b[^>]*\bvalue="([^"]*)"[^>]*\bname="%s"' % name, html)
        assert m, f"no {name} field on {verification_uri}: {html[:2000]}"
        return m.group(1).replace("&amp;", "&")

    # Step 1: the code and the account.
    form = urllib.parse.urlencode({
        "csrf": hidden(html, "csrf"), "user_code": user_code,
        "username": user[0], "password": user[1], "decision": "approve",
    }).encode()
    with opener.open(verification_uri, data=form, timeout=15) as confirm:
        assert confirm.status == 200
        shown = confirm.read().decode()
    assert user[0] in shown, f"the confirmation names the user: {shown[:2000]}"
    # Step 2: confirm what the page showed (app, user, scopes).
    form = urllib.parse.urlencode({
        "csrf": hidden(shown, "csrf"), "user_code": hidden(shown, "user_code"),
        "decision": "confirm",
    }).encode()
    with opener.open(verification_uri, data=form, timeout=15) as done:
        assert done.status == 200
        return done.read().decode()


def test_device_code_user_without_role(cli_app):
    flow = cli_app.initiate_device_flow(scopes=[API_SCOPE])
    assert "user_code" in flow, flow
    assert flow["verification_uri"] == f"https://localhost:{PORT}/devicelogin"

    outcome = {}

    def user_elsewhere():
        try:
            outcome["page"] = _approve_device_code(flow["verification_uri"], flow["user_code"], CAROL)
        except BaseException as e:  # reported by the assertion below
            outcome["error"] = e

    approver = threading.Thread(target=user_elsewhere, daemon=True)
    approver.start()
    deadline = time.monotonic() + 60
    # exit_condition bounds the polling: stop when the page failed or after 60 s.
    result = cli_app.acquire_token_by_device_flow(
        flow, exit_condition=lambda flow: "error" in outcome or time.monotonic() > deadline)
    approver.join(timeout=20)
    assert "error" not in outcome, f"verification page: {outcome['error']!r}"
    assert_tokens_ok(result)

    assert_user_access_token(result["access_token"], CAROL[2], None)
    status, report = token_check(result["access_token"])
    assert status == 0, report["errors"]  # valid: a delegated token with scp, no requirement
    status, report = token_check(result["access_token"], require_role="Orders.Read")
    assert status == 1 and report["valid"] and not report["authorized"], report
    assert result["id_token_claims"]["aud"] == CLI
    assert_id_token_refused(result["id_token"])


# ------------------------------------------------------------ multi-tenant

FLEETCO = "aaaaaaaa-1111-4111-8111-00000000000a"
PARTNER = "bbbbbbbb-2222-4222-8222-00000000000b"
FLEET_API = "f1ee7000-1111-4111-8111-0000000000a1"
FLEET_CLI = "f1ee7000-1111-4111-8111-0000000000c1"
FLEET_SCOPE = f"api://{FLEET_API}/Fleet.Read"
ORGANIZATIONS = f"https://localhost:{PORT}/organizations"


@ropc_deprecation
def test_multi_tenant_ropc_at_organizations_uses_the_users_home_tenant():
    """examples/multi-tenant: FleetCo's multi-tenant CLI at `organizations`;
    each user's token comes from their own tenant, and an API that allows
    only Partner refuses FleetCo's user, naming the tenant."""
    app = msal.PublicClientApplication(
        FLEET_CLI, authority=ORGANIZATIONS, instance_discovery=False, verify=CA_FILE)
    bo = app.acquire_token_by_username_password("bo@partner.test", "bo-Passw0rd", scopes=[FLEET_SCOPE])
    assert_tokens_ok(bo)
    c = claims_of(bo["access_token"])
    assert (c["tid"], c["iss"]) == (PARTNER, f"https://localhost:{PORT}/{PARTNER}/v2.0")
    assert (c["aud"], c["scp"], c.get("roles")) == (FLEET_API, "Fleet.Read", ["Fleet.Admin"])
    assert bo["id_token_claims"]["tid"] == PARTNER
    [account] = app.get_accounts(username="bo@partner.test")
    assert account["home_account_id"].endswith(f".{PARTNER}")

    ann = app.acquire_token_by_username_password("ann@fleetco.test", "ann-Passw0rd", scopes=[FLEET_SCOPE])
    assert_tokens_ok(ann)
    assert claims_of(ann["access_token"])["tid"] == FLEETCO

    def check(token):
        run = subprocess.run(
            [ROLEGATE, "token", "check", token, "--authority", ORGANIZATIONS, "--audience", FLEET_API,
             "--tenant-allow", PARTNER, "--ca-file", CA_FILE, "--json"],
            capture_output=True, text=True, timeout=60)
        return run.returncode, json.loads(run.stdout)

    status, report = check(bo["access_token"])
    assert status == 0, report["errors"]
    status, report = check(ann["access_token"])
    assert status == 1, report
    assert any(e["code"] == "tenant_not_allowed" and FLEETCO in e["message"] for e in report["errors"]), report

    # A single-tenant app cannot use `organizations` (AADSTS50194).
    single = msal.PublicClientApplication(
        CLI, authority=ORGANIZATIONS, instance_discovery=False, verify=CA_FILE)
    refused = single.acquire_token_by_username_password(BOB[0], BOB[1], scopes=[API_SCOPE])
    assert "AADSTS50194" in refused.get("error_description", ""), refused
