"""The blueprint editor's "asked again when these answers change": boxes for the fields above
each field, saved as `based_on`, kept visible when a move makes them wrong, and shown on the
read-only page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from conversations.blueprints.builtin import NETWORK_SERVICE
from tests.conftest import TenantUsers
from tests.conversations.blueprints.test_blueprint_editor import (
    copy_of,
    edit_url,
    editor_problems,
    editor_values,
    index_of,
    open_editor,
    saved_blueprint,
)

pytestmark = pytest.mark.django_db


def boxes(content: bytes, index: int) -> dict[str, bool]:
    """The "based on" boxes of field form `index`: offered key → ticked."""
    found = {}
    for tag in re.findall(rf'<input type="checkbox" name="fields-{index}-based_on"[^>]*>', content.decode()):
        value = re.search(r'value="([^"]*)"', tag)
        assert value is not None
        found[value.group(1)] = " checked" in tag
    return found


def test_each_field_offers_the_fields_above_it_with_its_own_ticked(tenant_users: TenantUsers) -> None:
    blueprint = copy_of(tenant_users)
    page = tenant_users.client_for(tenant_users.admin).get(edit_url(blueprint))
    keys = [field.key for field in NETWORK_SERVICE.fields]
    assert boxes(page.content, 0) == {}
    assert "No field above this one: the first field is based on nothing." in page.content.decode()
    assert boxes(page.content, keys.index("features")) == {
        "service_type": True,
        "vendor": False,
        "vpn_protocols": False,
    }
    api_docs = boxes(page.content, keys.index("api_docs"))
    assert [key for key, ticked in api_docs.items() if ticked] == ["service_type", "vendor"]
    assert list(api_docs) == keys[: keys.index("api_docs")]
    assert "Vendor (vendor)" in page.content.decode(), "each box says the field's label and key"


def test_ticking_a_box_makes_the_answer_asked_again_when_that_one_changes(tenant_users: TenantUsers) -> None:
    blueprint = copy_of(tenant_users)
    client = tenant_users.client_for(tenant_users.admin)
    values = open_editor(client, blueprint)
    values[f"fields-{index_of(values, 'authentication')}-based_on"] = ["service_type", "pricing_model"]
    values[f"fields-{index_of(values, 'features')}-based_on"] = []  # unticked

    response = client.post(edit_url(blueprint), values)

    assert response.status_code == 302, editor_problems(response.content)
    saved = saved_blueprint(blueprint).as_blueprint()
    authentication = saved.field("authentication")
    assert authentication is not None
    assert authentication.based_on == ["service_type", "pricing_model"]
    assert saved.dependents("pricing_model") == ["authentication"]
    assert saved.dependents("service_type") == ["vendor", "vpn_protocols", "api_docs", "authentication"]


def test_a_field_moved_above_what_it_is_based_on_keeps_the_tick_and_saving_says_why_not(
    tenant_users: TenantUsers,
) -> None:
    blueprint = copy_of(tenant_users)
    client = tenant_users.client_for(tenant_users.admin)
    values = open_editor(client, blueprint)
    # Move the API docs (based on the vendor) up, above the vendor.
    for _ in range(4):
        response = client.post(edit_url(blueprint), {**values, "move": f"{index_of(values, 'api_docs')}:up"})
        assert response.status_code == 200
        values = editor_values(response.content)
    position = index_of(values, "api_docs")
    assert position == 1
    assert boxes(response.content, position) == {"service_type": True, "vendor": True}, "not dropped unseen"

    response = client.post(edit_url(blueprint), values)

    assert response.status_code == 422
    assert "“vendor” comes after this field: a field is based only on fields above it." in editor_problems(
        response.content
    )
    assert saved_blueprint(blueprint).fields == blueprint.fields


def test_the_read_only_page_says_what_asks_a_field_again(tenant_users: TenantUsers) -> None:
    page = tenant_users.client_for(tenant_users.viewer).get(
        reverse("conversations:blueprint_builtin", kwargs={"tenant_slug": "acme", "key": "network-service"})
    )
    html = page.content.decode()
    assert "asked again when “service_type” changes" in html
    assert "asked again when “service_type”, “vendor” change<" in html
