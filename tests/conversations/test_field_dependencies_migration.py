"""Migration 0003: blueprints stored before `based_on` get the built-ins' dependencies where
they fit, and going back removes them."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps

from conversations import services
from conversations.blueprints.builtin import BUSINESS_PROCESS, NETWORK_SERVICE
from conversations.blueprints.schema import Blueprint
from conversations.models import Conversation, TenantBlueprint
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db

migration = importlib.import_module("conversations.migrations.0003_field_dependencies")


def as_stored_before(blueprint: Blueprint) -> list[dict[str, Any]]:
    """The blueprint's fields as the code before `based_on` stored them."""
    return [
        field.model_dump(mode="json", exclude_none=True, exclude={"based_on"}) for field in blueprint.fields
    ]


def test_copies_and_interviews_of_the_built_ins_get_their_dependencies(tenant_users: TenantUsers) -> None:
    tenant = tenant_users.tenant
    copy = services.blueprint_copy(tenant=tenant, actor=None, source=NETWORK_SERVICE, name="Ours")
    process = services.blueprint_copy(tenant=tenant, actor=None, source=BUSINESS_PROCESS, name="Process")
    # A copy whose API docs were moved above the vendor: only what fits is declared.
    fields = as_stored_before(NETWORK_SERVICE)
    moved = [fields[0], fields[5], *fields[1:5], *fields[6:]]
    reordered = services.blueprint_copy(tenant=tenant, actor=None, source=NETWORK_SERVICE, name="Reordered")
    own = services.blueprint_copy(tenant=tenant, actor=None, source=NETWORK_SERVICE, name="Own")
    TenantBlueprint.objects.for_tenant(tenant).filter(pk=copy.pk).update(fields=fields)
    TenantBlueprint.objects.for_tenant(tenant).filter(pk=process.pk).update(
        fields=as_stored_before(BUSINESS_PROCESS)
    )
    TenantBlueprint.objects.for_tenant(tenant).filter(pk=reordered.pk).update(fields=moved)
    TenantBlueprint.objects.for_tenant(tenant).filter(pk=own.pk).update(
        fields=fields, copied_from="Something else"
    )
    interview = services.conversation_create(
        tenant=tenant, owner=tenant_users.member, blueprint=NETWORK_SERVICE
    )
    Conversation.objects.for_tenant(tenant).filter(pk=interview.pk).update(
        blueprint={"name": "Network service", "description": "", "fields": fields}
    )

    migration.declare(apps, None)

    def stored(pk: int) -> Blueprint:
        return TenantBlueprint.objects.for_tenant(tenant).get(pk=pk).as_blueprint()

    assert stored(copy.pk).fields == NETWORK_SERVICE.fields
    assert stored(process.pk).fields == BUSINESS_PROCESS.fields
    api_docs = stored(reordered.pk).field("api_docs")
    assert api_docs is not None
    assert api_docs.based_on == ["service_type"]
    assert stored(own.pk).dependents("vendor") == [], "not a copy of a built-in"
    assert (
        Conversation.objects.for_tenant(tenant).get(pk=interview.pk).schema().fields == NETWORK_SERVICE.fields
    )

    migration.undeclare(apps, None)

    assert TenantBlueprint.objects.for_tenant(tenant).get(pk=copy.pk).fields == fields
    assert Conversation.objects.for_tenant(tenant).get(pk=interview.pk).blueprint["fields"] == fields
