from __future__ import annotations

import json

import pytest
from django.test import Client

from conversations import services
from conversations.blueprints.builtin import NETWORK_SERVICE
from conversations.models import TenantBlueprint
from tenants.models import User
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(tenant_users: TenantUsers) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="ops@sce.test", password="x" * 20))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/conversations/tenantblueprint/?q=acme",
        "/admin/conversations/conversation/?q=acme&status__exact=gathering",
        "/admin/conversations/message/?role__exact=notice",
    ],
)
def test_operators_list_search_and_filter(operator: Client, url: str, tenant_users: TenantUsers) -> None:
    services.blueprint_copy(tenant=tenant_users.tenant, actor=None, source=NETWORK_SERVICE, name="Ours")
    conversation = services.conversation_create(
        tenant=tenant_users.tenant, owner=tenant_users.member, blueprint=NETWORK_SERVICE
    )
    services.answer_edit(conversation=conversation, key="service_type", value="vRouter")
    response = operator.get(url)
    assert response.status_code == 200
    assert b"0 results" not in response.content


def change(operator: Client, blueprint: TenantBlueprint, fields: object, name: str = "Ours") -> bytes:
    response = operator.post(
        f"/admin/conversations/tenantblueprint/{blueprint.pk}/change/",
        {
            "tenant": blueprint.tenant_id,
            "name": name,
            "description": "",
            "fields": json.dumps(fields),
            "copied_from": blueprint.copied_from,
        },
    )
    return response.content if response.status_code == 200 else b"saved"


def test_operators_edit_a_blueprint_under_the_editors_rules(
    operator: Client, tenant_users: TenantUsers
) -> None:
    blueprint = services.blueprint_copy(
        tenant=tenant_users.tenant, actor=None, source=NETWORK_SERVICE, name="Ours"
    )
    services.blueprint_copy(tenant=tenant_users.tenant, actor=None, source=NETWORK_SERVICE, name="Theirs")
    fields = list(blueprint.fields)

    duplicate = change(operator, blueprint, [*fields, fields[0]])
    assert "two fields share the key “service_type”".encode() in duplicate
    assert b"Tenant blueprint with this Tenant and Name already exists." in change(
        operator, blueprint, fields, name="Theirs"
    )

    assert change(operator, blueprint, [{**fields[0], "question": "What shall we build?"}]) == b"saved"
    saved = TenantBlueprint.objects.for_tenant(tenant_users.tenant).get(pk=blueprint.pk).as_blueprint()
    assert [field.question for field in saved.fields] == ["What shall we build?"]
