"""`manage.py provider`: every command against the emulators."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from providers import breaker, services
from providers.models import CircuitReset, LogState, ProviderLog
from tenants.models import Tenant
from tests.emulators.script import HttpError, Reply
from tests.emulators.server import EmulatorServer
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

Emulators = tuple[EmulatorServer, EmulatorServer]


def run(*arguments: str) -> str:
    out = io.StringIO()
    call_command("provider", *arguments, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_health_probes_every_provider_by_listing_models(platform: Emulators) -> None:
    anthropic, openai = platform
    report = json.loads(run("health", "--json"))
    by_name = {entry["name"]: entry for entry in report}
    assert by_name["anthropic"]["ok"]
    assert by_name["openai"]["ok"]
    assert by_name["anthropic"]["models"] > 0
    assert anthropic.last_request.path.endswith("/v1/models")
    assert openai.last_request.path.endswith("/v1/models")
    assert all(entry["breaker"] == "closed" for entry in report)
    assert by_name["embedded"]["ok"], "the GGUF of the embedded model is found without loading it"
    assert by_name["embedded"]["model_ids"] == ["smollm2-135m-instruct"]
    table = run("health", "--verbose")
    assert "PROVIDER" in table
    assert "default_model=claude-sonnet-5-5" in table


def test_health_exits_non_zero_when_a_provider_is_down(platform: Emulators, settings: Any) -> None:
    anthropic, _openai = platform
    anthropic.push(HttpError(401), endpoint="models")
    with pytest.raises(SystemExit) as exited:
        run("health")
    assert exited.value.code == 1


def test_test_prints_the_reply_and_its_cost(platform: Emulators) -> None:
    anthropic, _openai = platform
    anthropic.push(Reply("Hello from the emulator.", input_tokens=10, output_tokens=5))
    output = run("test", "anthropic", "--model", "claude-haiku-5-5")
    assert "Hello from the emulator." in output
    assert "anthropic/claude-haiku-5-5" in output
    assert "10+5 tokens" in output
    assert anthropic.last_request.body["model"] == "claude-haiku-5-5"


def test_test_streams_tokens(platform: Emulators) -> None:
    _anthropic, openai = platform
    openai.push(Reply("streamed word by word", input_tokens=3, output_tokens=4))
    output = run("test", "openai", "--stream")
    assert "streamed word by word" in output
    assert "[done: stop" in output
    assert "3+4 tokens" in output


def test_test_of_an_unknown_provider_names_the_known_ones(platform: Emulators) -> None:
    with pytest.raises(CommandError, match="known: anthropic, embedded, openai"):
        run("test", "nope")


def test_stats_and_logs_after_some_calls(platform: Emulators) -> None:
    anthropic, _openai = platform
    anthropic.push(Reply("one", input_tokens=10, output_tokens=1), HttpError(400))
    run("test", "anthropic")
    with pytest.raises(CommandError):
        run("test", "anthropic")
    stats = json.loads(run("stats", "--hours", "1", "--json"))
    [entry] = stats
    assert (entry["provider"], entry["requests"], entry["failures"]) == ("anthropic", 2, 1)
    logs = json.loads(run("logs", "-n", "5", "-p", "anthropic", "--json"))
    assert [entry["state"] for entry in logs] == ["failed", "completed"]
    failed = json.loads(run("logs", "--failed", "--json"))
    assert [entry["error_code"] for entry in failed] == ["bad_request"]
    assert "STARTED" in run("logs")
    assert "P50" in run("stats")


def test_circuit_status_and_an_audited_reset(platform: Emulators, settings: Any) -> None:
    anthropic, _openai = platform
    settings.GATEWAY_MAX_ATTEMPTS = 1
    anthropic.push(*[HttpError(500)] * 5)
    for _ in range(5):
        with pytest.raises(CommandError):
            run("test", "anthropic")
    status = {entry["provider"]: entry for entry in json.loads(run("circuit", "status", "--json"))}
    assert status["anthropic"]["state"] == "open"
    assert status["openai"]["state"] == "closed"
    output = run("circuit", "reset", "anthropic", "--by", "ops@example.com")
    assert "was open" in output
    assert breaker.status("platform:anthropic").state == breaker.BreakerState.CLOSED
    record = CircuitReset.objects.get()
    assert (record.provider, record.reset_via, record.reset_by_label) == (
        "anthropic",
        "cli",
        "ops@example.com",
    )


def test_tenant_scope_includes_the_tenants_credentials(platform: Emulators) -> None:
    _anthropic, openai = platform
    tenant = TenantFactory.create(slug="acme", plan=Tenant.Plan.ENTERPRISE)
    services.credential_create(
        tenant=tenant, actor=None, name="acme-openai", kind="openai", api_key="sk-acme-000000000000",
        default_model="gpt-6-sol", base_url=openai.base_url,
    )  # fmt: skip
    openai.push(Reply("tenant says hi"))
    assert "tenant says hi" in run("--tenant", "acme", "test", "acme-openai")
    names = {entry["name"] for entry in json.loads(run("--tenant", "acme", "health", "--json"))}
    assert "acme-openai" in names
    assert json.loads(run("--tenant", "acme", "logs", "--json"))[0]["provider"] == "acme-openai"
    assert json.loads(run("logs", "--json")) == [], "platform logs hold no tenant's calls"
    with pytest.raises(CommandError, match="no tenant"):
        run("--tenant", "nobody", "logs")


def test_test_streams_from_the_embedded_model(platform: Emulators) -> None:
    output = run("test", "embedded", "--stream", "--max-tokens", "12", "--prompt", "Name a color.")
    assert "[embedded/smollm2-135m-instruct" in output
    assert "[done: " in output
    stats = {entry["provider"]: entry for entry in json.loads(run("stats", "--json"))}
    assert stats["embedded"]["requests"] == 1
    assert float(stats["embedded"]["cost_usd"]) == 0


# --- What reaches the terminal ----------------------------------------------------------------

# A colour change, a window title (OSC) ended by BEL, a right-to-left override and a C1 CSI.
HOSTILE = "ev\x1b[31mil\x1b]0;owned\x07\u202etxt.exe\x9b2J"


def shown_raw(text: str) -> list[str]:
    """The characters of `text` that would act on a terminal (line breaks are output's own)."""
    return [character for character in text if not character.isprintable() and character != "\n"]


def run_both(*arguments: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("provider", *arguments, stdout=out, stderr=err)
    except CommandError as failure:
        err.write(str(failure))
    return out.getvalue(), err.getvalue()


def test_a_model_name_and_a_reply_with_control_characters_are_shown_escaped(platform: Emulators) -> None:
    anthropic, _openai = platform
    anthropic.push(Reply(f"line one\n{HOSTILE}"))
    out, err = run_both("test", "anthropic", "--model", HOSTILE)
    assert shown_raw(out + err) == []
    assert "line one\nev\\x1b[31mil\\x1b]0;owned\\x07\\u202etxt.exe\\x9b2J" in out, "line breaks stay"
    assert "anthropic/ev\\x1b[31mil" in out

    logs = run("logs")
    assert shown_raw(logs) == []
    assert "ev\\x1b[31mil\\x1b]0;owned\\x07\\u202etxt.exe\\x9b2J" in logs
    header, row = logs.splitlines()
    assert header.index("STATE") == row.index("completed"), "columns align on what is shown"


def test_streamed_tokens_are_shown_escaped(platform: Emulators) -> None:
    _anthropic, openai = platform
    openai.push(Reply(tokens=["safe ", "\x1b[2J", "\u202eend"]))
    out, err = run_both("test", "openai", "--stream")
    assert shown_raw(out + err) == []
    assert "safe \\x1b[2J\\u202eend" in out


def test_an_upstream_error_message_is_shown_escaped(platform: Emulators) -> None:
    anthropic, _openai = platform
    anthropic.push(HttpError(401, message=HOSTILE), endpoint="models")
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("provider", "health", "--verbose", stdout=out, stderr=io.StringIO())
    assert "  error: " in out.getvalue()
    assert shown_raw(out.getvalue()) == []


def test_log_rows_of_a_tenant_are_shown_escaped_in_every_table(platform: Emulators) -> None:
    tenant = TenantFactory.create(slug="acme")
    ProviderLog.objects.create(
        tenant=tenant, request_id="hostile", task="api", provider=HOSTILE, kind="openai",
        model=f"gpt\r{HOSTILE}", state=LogState.FAILED, error_code=HOSTILE, error_message=HOSTILE,
    )  # fmt: skip
    for arguments in (("logs",), ("logs", "--failed"), ("stats",)):
        output = run("--tenant", "acme", *arguments)
        assert shown_raw(output) == [], arguments
        assert "ev\\x1b[31mil" in output
    assert "gpt\\rev" in run("--tenant", "acme", "logs")
    as_json = run("--tenant", "acme", "logs", "--json")
    assert json.loads(as_json)[0]["error_message"] == HOSTILE, "JSON is for programs: escaped by JSON"
    assert shown_raw(as_json) == []
