"""Tenants' provider base URLs through the egress guard (core/egress), and upstream error
bodies kept out of what members see.

Every server here listens on 127.0.0.1. The test settings allow 127.0.0.1 (the emulators
serve tenants' credentials there); the `strict` fixture takes that away, as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from providers import gateway, services
from providers.errors import UPSTREAM_DETAIL_CHARS, ErrorCode, ProviderError
from providers.interface import ErrorEvent, GatewayRequest, Message, StreamEvent, Task
from providers.models import LogState, ProviderCredential, ProviderLog
from tests.conftest import TenantUsers
from tests.emulators.script import HttpError, Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

Emulators = tuple[EmulatorServer, EmulatorServer]
PROVIDERS = "/t/acme/providers/"
SECRET = "INTERNAL-SECRET-db_password=hunter2"


@pytest.fixture
def strict(settings: Any) -> Any:
    """The guard as production has it: no allowlist."""
    settings.EGRESS_ALLOWED_HOSTS = []
    return settings


def tenant_credential(
    tenant_users: TenantUsers, base_url: str, *, name: str = "internal"
) -> ProviderCredential:
    """A credential created through the service, as if the form had been bypassed, and routed to."""
    credential = services.credential_create(
        tenant=tenant_users.tenant, actor=None, name=name, kind="openai",
        api_key="sk-tenant-000000000001", default_model="gpt-6-sol", base_url=base_url,
    )  # fmt: skip
    services.route_set(tenant=tenant_users.tenant, task=Task.CONVERSATION, targets=[{"provider": name}])
    return credential


def ask(tenant_users: TenantUsers) -> GatewayRequest:
    return GatewayRequest(
        task=Task.CONVERSATION,
        messages=(Message("user", "We need a virtual firewall."),),
        max_tokens=50,
        deadline_seconds=20,
        tenant_id=tenant_users.tenant.pk,
    )


def failure(request: GatewayRequest) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        gateway.complete_sync(request)
    return raised.value


def streamed(request: GatewayRequest) -> list[StreamEvent]:
    async def collect() -> list[StreamEvent]:
        return [event async for event in gateway.stream(request)]

    return async_to_sync(collect)()


# --- The form --------------------------------------------------------------------------------

REFUSED = [
    ("http://127.0.0.1:8000/v1", "127.0.0.1 is a loopback address"),
    ("http://[::1]:8000/v1", "::1 is a loopback address"),
    ("http://localhost:11434/v1", "localhost names an internal host"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local (cloud metadata) address"),
    ("http://10.0.0.5:8000/v1", "10.0.0.5 is a private address"),
    ("http://192.168.1.20/v1", "192.168.1.20 is a private address"),
    ("http://[::ffff:127.0.0.1]:8000/v1", "(which embeds 127.0.0.1) is a loopback address"),
    ("https://user:pw@api.groq.com/openai/v1", "Remove the user name and password from the URL"),
]


@pytest.mark.parametrize(("base_url", "reason"), REFUSED, ids=[url for url, _ in REFUSED])
def test_the_form_refuses_an_internal_base_url_and_says_why(
    tenant_users: TenantUsers, strict: Any, base_url: str, reason: str
) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    response = client.post(
        PROVIDERS + "credentials/new/",
        {"name": "inside", "kind": "openai", "default_model": "m", "api_key": "sk-x-000000001",
         "base_url": base_url, "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 422
    assert reason in response.content.decode().replace("&#x27;", "'")
    assert not ProviderCredential.objects.for_tenant(tenant_users.tenant).exists()


def test_editing_a_credential_checks_its_new_base_url(tenant_users: TenantUsers, strict: Any) -> None:
    credential = services.credential_create(
        tenant=tenant_users.tenant, actor=None, name="groq", kind="openai", api_key="sk-x-000000001",
        default_model="llama", base_url="https://api.groq.com/openai/v1",
    )  # fmt: skip
    response = tenant_users.client_for(tenant_users.admin).post(
        f"{PROVIDERS}credentials/{credential.pk}/",
        {"name": "groq", "default_model": "llama", "base_url": "http://169.254.169.254/", "enabled": "on"},
    )
    assert response.status_code == 422
    assert "link-local (cloud metadata) address" in response.content.decode()
    credential.refresh_from_db()
    assert credential.base_url == "https://api.groq.com/openai/v1"


def test_the_form_accepts_a_public_url_and_an_allowlisted_one(
    tenant_users: TenantUsers, settings: Any
) -> None:
    settings.EGRESS_ALLOWED_HOSTS = ["10.0.0.5:8000"]
    client = tenant_users.client_for(tenant_users.admin)
    for name, base_url in (("groq", "https://api.groq.com/openai/v1"), ("vllm", "http://10.0.0.5:8000/v1")):
        response = client.post(
            PROVIDERS + "credentials/new/",
            {"name": name, "kind": "openai", "default_model": "m", "api_key": "sk-x-000000001",
             "base_url": base_url, "enabled": "on"},
        )  # fmt: skip
        assert response.status_code == 302, base_url
    assert ProviderCredential.objects.for_tenant(tenant_users.tenant).count() == 2


# --- Connect time ------------------------------------------------------------------------------


def test_a_credential_on_loopback_is_refused_at_connect_time(
    tenant_users: TenantUsers, platform: Emulators, strict: Any
) -> None:
    _anthropic, openai = platform
    credential = tenant_credential(tenant_users, openai.base_url)
    error = failure(ask(tenant_users))
    assert error.code is ErrorCode.EGRESS_REFUSED
    assert "127.0.0.1 is a loopback address" in error.message
    assert openai.requests == [], "the emulator never heard of it"
    [row] = ProviderLog.objects.for_tenant(tenant_users.tenant)
    assert (row.state, row.error_code, row.attempts) == (LogState.FAILED, "egress_refused", 1)
    credential.refresh_from_db()
    assert credential.rejected_at is None, "the key was not rejected: the address was"


def test_a_credential_whose_name_resolves_to_loopback_is_refused(
    tenant_users: TenantUsers, platform: Emulators, strict: Any
) -> None:
    _anthropic, openai = platform
    tenant_credential(tenant_users, openai.base_url.replace("127.0.0.1", "localhost"))
    error = failure(ask(tenant_users))
    assert error.code is ErrorCode.EGRESS_REFUSED
    assert "localhost resolves to" in error.message
    assert openai.requests == []


def test_refusals_do_not_open_the_breaker_and_another_provider_answers(
    tenant_users: TenantUsers, platform: Emulators, strict: Any
) -> None:
    anthropic, openai = platform
    tenant_credential(tenant_users, openai.base_url)
    for _ in range(strict.BREAKER_FAILURE_THRESHOLD + 1):
        assert failure(ask(tenant_users)).code is ErrorCode.EGRESS_REFUSED, "never circuit_open"
    services.route_set(
        tenant=tenant_users.tenant, task=Task.CONVERSATION,
        targets=[{"provider": "internal"}, {"provider": "anthropic"}],
    )  # fmt: skip
    anthropic.push(Reply("from the platform"))
    completion = gateway.complete_sync(ask(tenant_users))
    assert (completion.provider, completion.text) == ("anthropic", "from the platform")
    assert openai.requests == []


def test_platform_providers_from_the_environment_are_not_guarded(
    tenant_users: TenantUsers, platform: Emulators, strict: Any
) -> None:
    anthropic, _openai = platform  # ANTHROPIC_BASE_URL points at 127.0.0.1
    anthropic.push(Reply("trusted"))
    request = GatewayRequest(task=Task.CONVERSATION, messages=(Message("user", "hi"),), max_tokens=20)
    assert gateway.complete_sync(request).text == "trusted"


def test_the_allowlist_lets_a_loopback_server_through(
    tenant_users: TenantUsers, platform: Emulators, strict: Any
) -> None:
    _anthropic, openai = platform
    tenant_credential(tenant_users, openai.base_url)
    assert failure(ask(tenant_users)).code is ErrorCode.EGRESS_REFUSED
    strict.EGRESS_ALLOWED_HOSTS = [f"127.0.0.1:{openai.port}"]
    openai.push(Reply("local vLLM"))
    assert gateway.complete_sync(ask(tenant_users)).text == "local vLLM"
    assert len(openai.requests) == 1


@pytest.fixture
def redirector(openai_emulator: EmulatorServer) -> Iterator[str]:
    """A base URL on another loopback port whose server redirects every request to the emulator."""

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("Location", f"{openai_emulator.root_url}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_redirect_to_another_port_is_not_followed(
    tenant_users: TenantUsers, platform: Emulators, redirector: str
) -> None:
    _anthropic, openai = platform
    tenant_credential(tenant_users, redirector)  # 127.0.0.1 is allowed: only the redirect is refused
    error = failure(ask(tenant_users))
    assert error.code is ErrorCode.EGRESS_REFUSED
    assert "redirect" in error.message
    assert openai.requests == [], "the redirect's target was never contacted"


# --- Upstream error bodies -------------------------------------------------------------------------


@pytest.fixture
def secret_failure(tenant_users: TenantUsers, platform: Emulators, settings: Any) -> ProviderLog:
    """A tenant's call answered by HTTP 500 whose body quotes an internal service's secrets."""
    _anthropic, openai = platform
    settings.GATEWAY_MAX_ATTEMPTS = 1
    tenant_credential(tenant_users, openai.base_url)
    openai.push(HttpError(500, body=f"<html>{SECRET} " + "stack trace line\n" * 400 + "</html>"))
    error = failure(ask(tenant_users))
    assert error.code is ErrorCode.SERVER_ERROR
    assert SECRET not in error.message, "the message goes wherever the failure is shown"
    assert SECRET in error.detail
    assert len(error.detail) <= UPSTREAM_DETAIL_CHARS
    return ProviderLog.objects.for_tenant(tenant_users.tenant).get()


def test_an_upstream_error_body_is_truncated_in_the_log(secret_failure: ProviderLog) -> None:
    assert SECRET in secret_failure.error_message
    assert "answered HTTP 500" in secret_failure.error_message
    assert secret_failure.error_message.count("stack trace line") < 20
    assert len(secret_failure.error_message) < UPSTREAM_DETAIL_CHARS + 100


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_members_see_the_code_and_a_generic_message_not_the_body(
    secret_failure: ProviderLog, tenant_users: TenantUsers, role: str
) -> None:
    client: Client = tenant_users.client_for(getattr(tenant_users, role))
    page = client.get(f"/t/acme/providers/logs/{secret_failure.pk}/").content.decode()
    assert "server_error" in page
    assert "the provider failed" in page
    assert "INTERNAL-SECRET" not in page


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_see_the_truncated_body(
    secret_failure: ProviderLog, tenant_users: TenantUsers, role: str
) -> None:
    client: Client = tenant_users.client_for(getattr(tenant_users, role))
    page = client.get(f"/t/acme/providers/logs/{secret_failure.pk}/").content.decode()
    assert SECRET in page
    assert page.count("stack trace line") < 20


def test_a_streamed_failure_tells_the_caller_no_upstream_body(
    tenant_users: TenantUsers, platform: Emulators, settings: Any
) -> None:
    """What "Try it" and the interview show of a failure is the gateway's error event."""
    _anthropic, openai = platform
    settings.GATEWAY_MAX_ATTEMPTS = 1
    tenant_credential(tenant_users, openai.base_url)
    openai.push(HttpError(500, body={"error": {"message": f"{SECRET} at /internal/admin"}}))
    [*_, last] = streamed(ask(tenant_users))
    assert isinstance(last, ErrorEvent)
    assert last.code is ErrorCode.SERVER_ERROR
    assert SECRET not in last.message
    assert last.message == "internal answered HTTP 500: the provider failed"
