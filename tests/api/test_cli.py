"""`manage.py apikey`: create (the key printed once), list, revoke; bad input exits 2."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from api import selectors, services
from api.authentication import authenticate
from api.models import ApiKey, ApiKeyEvent
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db


def run(*arguments: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("apikey", *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*arguments: str) -> str:
    with pytest.raises(CommandError) as error:
        run(*arguments)
    assert error.value.returncode == 2
    return str(error.value)


def test_create_prints_a_working_key_alone_on_stdout(tenant_users: TenantUsers) -> None:
    out, err = run(
        "create", "--tenant", "acme", "--name", "nightly", "--scope", "gateway", "runs", "--expires", "7"
    )
    plaintext = out.strip()
    assert "\n" not in plaintext
    key = authenticate({"x-api-key": plaintext})
    assert key is not None
    assert (key.tenant, key.name, key.scopes) == (tenant_users.tenant, "nightly", ["gateway", "runs"])
    assert key.expires_at is not None
    assert key.prefix in err
    assert plaintext not in err
    assert "this once only" in err
    (event,) = selectors.api_key_events_of_tenant(tenant=tenant_users.tenant)
    assert (event.kind, event.via, event.actor) == ("created", ApiKeyEvent.Via.COMMAND_LINE, None)


def test_create_may_give_the_key_its_own_rate_limit(tenant_users: TenantUsers) -> None:
    out, err = run("create", "--tenant", "acme", "--name", "paced", "--scope", "gateway", "--rpm", "45")
    key = authenticate({"x-api-key": out.strip()})
    assert key is not None
    assert key.requests_per_minute == 45
    assert "at most 45 requests a minute" in err
    listing, _ = run("list", "--tenant", "acme")
    assert listing.splitlines()[1].split()[4] == "45"


def test_scopes_may_be_given_one_flag_each(tenant_users: TenantUsers) -> None:
    out, _ = run("create", "--tenant", "acme", "--name", "two", "--scope", "runs", "--scope", "workflows")
    key = authenticate({"x-api-key": out.strip()})
    assert key is not None
    assert key.scopes == ["workflows", "runs"]


def test_list_shows_prefixes_and_states_never_secrets(tenant_users: TenantUsers) -> None:
    kept = services.api_key_create(tenant=tenant_users.tenant, actor=None, name="kept", scopes=["gateway"])
    gone = services.api_key_create(tenant=tenant_users.tenant, actor=None, name="gone", scopes=["runs"])
    services.api_key_revoke(key=gone.key, actor=None)
    services.api_key_create(
        tenant=tenant_users.other_tenant, actor=None, name="globex-key", scopes=["gateway"]
    )
    out, _ = run("list", "--tenant", "acme")
    lines = out.splitlines()
    assert lines[0].split() == [
        "PREFIX",
        "NAME",
        "STATUS",
        "SCOPES",
        "RPM",
        "CREATED",
        "LAST",
        "USED",
        "EXPIRES",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows[kept.key.prefix][1:3] == ["kept", "active"]
    assert rows[gone.key.prefix][1:3] == ["gone", "revoked"]
    assert len(rows) == 2
    assert "globex-key" not in out
    assert kept.plaintext not in out


def test_list_of_a_tenant_without_keys_says_so(tenant_users: TenantUsers) -> None:
    out, _ = run("list", "--tenant", "acme")
    assert out.strip() == "acme has no API keys."


def test_revoke_stops_the_key_at_once(tenant_users: TenantUsers) -> None:
    key, plaintext = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="old", scopes=["gateway"]
    )
    out, _ = run("revoke", key.prefix)
    assert f"Revoked {key.prefix}" in out
    assert authenticate({"x-api-key": plaintext}) is None
    assert ApiKey.objects.for_tenant(tenant_users.tenant).get(pk=key.pk).status == "revoked"
    again, _ = run("revoke", key.prefix)
    assert "already revoked" in again
    kinds = [event.kind for event in selectors.api_key_events_of_tenant(tenant=tenant_users.tenant)]
    assert kinds == ["revoked", "created"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["create", "--tenant", "nope", "--name", "x", "--scope", "gateway"], "no tenant with slug 'nope'"),
        (["create", "--tenant", "acme", "--name", "x", "--scope", "admin"], "unknown scope 'admin'"),
        (["create", "--tenant", "acme", "--name", "  ", "--scope", "gateway"], "--name must be"),
        (
            ["create", "--tenant", "acme", "--name", "x", "--scope", "gateway", "--expires", "0"],
            "--expires must be",
        ),
        (
            ["create", "--tenant", "acme", "--name", "x", "--scope", "gateway", "--rpm", "0"],
            "--rpm must be between 1 and 100000",
        ),
        (["list", "--tenant", "nope"], "no tenant with slug 'nope'"),
        (["revoke", "sce_zzzzzzzz"], "no API key with prefix 'sce_zzzzzzzz'"),
    ],
)
def test_bad_input_exits_2_and_says_why(
    tenant_users: TenantUsers, arguments: list[str], message: str
) -> None:
    assert message in refused(*arguments)
    assert not selectors.api_keys_of_tenant(tenant=tenant_users.tenant).exists()


def test_missing_arguments_exit_2(tenant_users: TenantUsers) -> None:
    for arguments in (
        ["create", "--tenant", "acme", "--name", "x"],
        ["create", "--name", "x", "--scope", "runs"],
        [],
    ):
        with pytest.raises(CommandError) as error:
            run(*arguments)
        # call_command turns argparse's refusals into CommandError; the command line exits 2.
        assert "required" in str(error.value) or "arguments" in str(error.value)
