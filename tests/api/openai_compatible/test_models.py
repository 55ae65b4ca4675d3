"""GET /v1/models and /v1/models/{model}: the tenant's names in OpenAI's list shape."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from api import services
from api.models import Scope
from api.openai_compatible.schemas import ModelObject, ModelObjectList, OpenAIError
from tests.conftest import TenantUsers
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_lists_the_tenants_names_in_route_order(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    response = Client().get("/v1/models", headers=bearer)
    assert response.status_code == 200
    assert response["x-request-id"].startswith("req_")
    body = response.json()
    ModelObjectList.model_validate(body)
    assert body["object"] == "list"
    assert [(model["id"], model["owned_by"]) for model in body["data"]][:3] == [
        ("auto", "team-openai"),
        ("team-openai/gpt-4o-mini", "team-openai"),
        ("team-openai", "team-openai"),
    ]
    assert {model["object"] for model in body["data"]} == {"model"}


@pytest.mark.parametrize("name", ["auto", "team-openai/gpt-4o-mini", "team-openai/gpt-4o", "gpt-4o"])
def test_it_retrieves_any_name_the_routes_take(
    team_openai: EmulatorServer, bearer: dict[str, Any], name: str
) -> None:
    response = Client().get(f"/v1/models/{name}", headers=bearer)
    assert response.status_code == 200, response.content
    body = response.json()
    ModelObject.model_validate(body)
    assert (body["id"], body["owned_by"]) == (name, "team-openai")


def test_an_unknown_model_is_404_in_openai_shape(team_openai: EmulatorServer, bearer: dict[str, Any]) -> None:
    response = Client().get("/v1/models/gpt-99", headers=bearer)
    assert response.status_code == 404
    OpenAIError.model_validate(response.json())
    assert response.json()["error"]["code"] == "model_not_found"


def test_another_tenants_provider_is_unknown(team_openai: EmulatorServer, tenant_users: TenantUsers) -> None:
    """Globex's key does not see acme's provider, by any name."""
    other = services.api_key_create(
        tenant=tenant_users.other_tenant, actor=tenant_users.outsider, name="globex", scopes=[Scope.GATEWAY]
    )
    headers = {"Authorization": f"Bearer {other.plaintext}"}
    listed = Client().get("/v1/models", headers=headers).json()["data"]
    assert not any("team-openai" in model["id"] for model in listed)
    assert Client().get("/v1/models/team-openai", headers=headers).status_code == 404
