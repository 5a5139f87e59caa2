"""Microsoft's Graph SDK for Python (msgraph-sdk, on Kiota) against the
provider's Graph subset, unmodified but for the base URL (the provider's
origin + /v1.0, on an httpx client trusting the local CA) and the token
(from MSAL Python, client credentials with https://graph.microsoft.com/.default).
"""

import asyncio
import ssl

import httpx
import msal
import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_core import GraphClientFactory

from test_msal import API, AUTHORITY, CA_FILE, DAEMON, DAEMON_SECRET, PORT

AUTOMATION = "3f0c8a6e-9d2b-4c7a-8e1f-5b6a7c8d9e0f"
AUTOMATION_SECRET = "automation-secret-7Hq2Xv9Kp4Lm8Rw3"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
APPLICATION_READWRITE_ALL = "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"


def graph_token(client_id, secret):
    app = msal.ConfidentialClientApplication(
        client_id, client_credential=secret, authority=AUTHORITY, instance_discovery=False,
        verify=CA_FILE,
    )
    result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    return result["access_token"]


class StaticToken(AccessTokenProvider):
    """The token MSAL Python got, for the provider's host only."""

    def __init__(self, token):
        self._token = token
        self._hosts = AllowedHostsValidator(["localhost"])

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self._token

    def get_allowed_hosts_validator(self):
        return self._hosts


def graph_client(token):
    tls = ssl.create_default_context(cafile=CA_FILE)
    http = httpx.AsyncClient(base_url=f"https://localhost:{PORT}/v1.0", verify=tls)
    http = GraphClientFactory.create_with_default_middleware(client=http)
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(token)), client=http)
    adapter.base_url = f"https://localhost:{PORT}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def test_graph_sdk_reads_the_directory():
    client = graph_client(graph_token(AUTOMATION, AUTOMATION_SECRET))

    async def run():
        apps = await client.applications.get()
        orders = next(a for a in apps.value if a.app_id == API)
        assert orders.display_name == "Orders API"
        assert {r.value for r in orders.app_roles} == {"Orders.Read", "Orders.Admin"}
        assert orders.api.requested_access_token_version == 2
        assert all(a.app_id != GRAPH_APP_ID for a in apps.value)

        by_key = await client.applications_with_app_id(API).get()
        assert by_key.id == orders.id

        graph = await client.service_principals_with_app_id(GRAPH_APP_ID).get()
        assert graph.display_name == "Microsoft Graph"
        role = next(r for r in graph.app_roles if r.value == "Application.ReadWrite.All")
        assert str(role.id) == APPLICATION_READWRITE_ALL
        holders = await client.service_principals.by_service_principal_id(graph.id).app_role_assigned_to.get()
        assert any(h.principal_display_name == "Directory automation" for h in holders.value)

        bob = await client.users.by_user_id("bob@contoso.test").get()
        assert bob.display_name == "Bob Jones"
        groups = await client.users.by_user_id(bob.id).member_of.get()
        assert [g.display_name for g in groups.value] == ["Order Readers"]

    asyncio.run(run())


def test_graph_sdk_turns_a_403_into_odataerror():
    client = graph_client(graph_token(DAEMON, DAEMON_SECRET))

    async def run():
        with pytest.raises(ODataError) as raised:
            await client.applications.get()
        error = raised.value
        assert error.response_status_code == 403
        assert error.error.code == "Authorization_RequestDenied"
        assert error.error.message == "Insufficient privileges to complete the operation."

    asyncio.run(run())



def test_graph_sdk_creates_apps_assigns_a_role_and_the_next_token_carries_it():
    """The issue's flow with Microsoft's Python SDK, then cleaned up."""
    import time
    import uuid

    from msgraph.generated.applications.item.add_password.add_password_post_request_body import (
        AddPasswordPostRequestBody,
    )
    from msgraph.generated.models.api_application import ApiApplication
    from msgraph.generated.models.app_role import AppRole
    from msgraph.generated.models.app_role_assignment import AppRoleAssignment
    from msgraph.generated.models.application import Application
    from msgraph.generated.models.o_auth2_permission_grant import OAuth2PermissionGrant
    from msgraph.generated.models.password_credential import PasswordCredential
    from msgraph.generated.models.permission_scope import PermissionScope
    from msgraph.generated.models.service_principal import ServicePrincipal

    from test_msal import CLI, claims_of

    client = graph_client(graph_token(AUTOMATION, AUTOMATION_SECRET))
    role_id = uuid.UUID("6c2b3d4e-5f60-4b7c-8d9e-0f1a2b3c4d5e")

    async def run():
        api = await client.applications.post(Application(
            display_name="E2E Python API",
            app_roles=[AppRole(
                id=role_id, value="Reports.Write", display_name="Write reports",
                description="Write reports.", allowed_member_types=["User", "Application"], is_enabled=True,
            )],
            api=ApiApplication(requested_access_token_version=2),
        ))
        job = await client.applications.post(Application(display_name="E2E Python job"))
        try:
            await client.applications.by_application_id(api.id).patch(
                Application(identifier_uris=[f"api://{api.app_id}"]))
            password = await client.applications.by_application_id(job.id).add_password.post(
                AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="e2e")))
            api_sp = await client.service_principals.post(ServicePrincipal(app_id=api.app_id))
            job_sp = await client.service_principals.post(ServicePrincipal(app_id=job.app_id))
            alice = await client.users.by_user_id("alice@contoso.test").get()
            for principal in (job_sp.id, alice.id):
                assignment = await client.service_principals.by_service_principal_id(
                    api_sp.id).app_role_assigned_to.post(AppRoleAssignment(
                        principal_id=uuid.UUID(str(principal)), resource_id=uuid.UUID(str(api_sp.id)),
                        app_role_id=role_id))
                assert assignment.app_role_id == role_id

            # The next token, with the secret Graph just made. Through the
            # balancer the other replica learns it within milliseconds;
            # retry briefly, as Entra's clients do while a secret replicates.
            app = msal.ConfidentialClientApplication(
                job.app_id, client_credential=password.secret_text, authority=AUTHORITY,
                instance_discovery=False, verify=CA_FILE)
            for _ in range(10):
                result = app.acquire_token_for_client(scopes=[f"api://{api.app_id}/.default"])
                if "access_token" in result:
                    break
                time.sleep(0.2)
            assert "access_token" in result, result
            claims = claims_of(result["access_token"])
            assert claims["aud"] == api.app_id
            assert claims["roles"] == ["Reports.Write"]

            # alice's next token carries the role too: expose a scope,
            # consent to it for the Orders CLI (for every user), sign in.
            await client.applications.by_application_id(api.id).patch(Application(
                api=ApiApplication(oauth2_permission_scopes=[PermissionScope(
                    id=uuid.UUID("7d3c4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"), value="access_as_user",
                    type="User", admin_consent_display_name="Access reports", is_enabled=True)])))
            cli_sp = await client.service_principals_with_app_id(CLI).get()
            grant = await client.oauth2_permission_grants.post(OAuth2PermissionGrant(
                client_id=str(cli_sp.id), consent_type="AllPrincipals",
                resource_id=str(api_sp.id), scope="access_as_user"))
            assert grant.consent_type == "AllPrincipals"
            cli = msal.PublicClientApplication(
                CLI, authority=AUTHORITY, instance_discovery=False, verify=CA_FILE)
            for _ in range(10):
                user = cli.acquire_token_by_username_password(
                    "alice@contoso.test", "alice-Passw0rd", scopes=[f"api://{api.app_id}/access_as_user"])
                if "access_token" in user:
                    break
                time.sleep(0.2)
            assert "access_token" in user, user
            assert claims_of(user["access_token"])["roles"] == ["Reports.Write"]
        finally:
            await client.applications.by_application_id(api.id).delete()
            await client.applications.by_application_id(job.id).delete()

    asyncio.run(run())
