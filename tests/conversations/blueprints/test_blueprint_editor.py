"""The blueprint editor, through HTTP: copying, editing, the rules, roles and tenants.

Edits are made the way a browser makes them: the editor page is read back into form data
(`editor_values`), changed, and posted.
"""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conversations import services
from conversations.blueprints.builtin import BUSINESS_PROCESS, NETWORK_SERVICE
from conversations.blueprints.schema import (
    Blueprint,
    BlueprintField,
    Condition,
    FieldType,
)
from conversations.models import Conversation, TenantBlueprint
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db


class _FormReader(HTMLParser):
    """The values a browser would submit from the editor form (buttons aside)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, Any] = {}
        self.inside = False
        self.textarea: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and attributes.get("data-testid") == "blueprint-editor":
            self.inside = True
        if not self.inside:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            if attributes.get("type") == "checkbox":
                if "checked" not in attributes:
                    pass
                elif attributes.get("value") is None:
                    self.values[name] = "on"
                else:  # one of several boxes of the same name: all the ticked values
                    self.values.setdefault(name, []).append(attributes["value"])
            else:
                self.values[name] = attributes.get("value") or ""
        elif tag == "textarea" and name:
            self.textarea = name
            self.values[name] = ""
        elif tag == "select" and name:
            self.select = name
        elif tag == "option" and self.select and "selected" in attributes:
            self.values[self.select] = attributes.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.values[self.textarea] += data


def editor_values(content: bytes) -> dict[str, Any]:
    reader = _FormReader()
    reader.feed(content.decode())
    # Browsers drop the newline that opens a textarea's content; Django writes one.
    return {
        name: value.removeprefix("\n") if isinstance(value, str) else value
        for name, value in reader.values.items()
    }


def fields_of(values: dict[str, Any]) -> list[str]:
    """The keys of the field forms, in page order."""
    return [values[f"fields-{index}-key"] for index in range(int(values["fields-TOTAL_FORMS"]))]


def index_of(values: dict[str, Any], key: str) -> int:
    return fields_of(values).index(key)


def saved_blueprint(blueprint: TenantBlueprint) -> TenantBlueprint:
    return TenantBlueprint.objects.for_tenant(blueprint.tenant).get(pk=blueprint.pk)


def edit_url(blueprint: TenantBlueprint) -> str:
    return reverse(
        "conversations:blueprint_edit",
        kwargs={"tenant_slug": blueprint.tenant.slug, "blueprint_id": blueprint.pk},
    )


def copy_of(users: TenantUsers, source: Blueprint = NETWORK_SERVICE, name: str = "Ours") -> TenantBlueprint:
    return services.blueprint_copy(tenant=users.tenant, actor=users.admin, source=source, name=name)


def open_editor(client: Client, blueprint: TenantBlueprint) -> dict[str, Any]:
    response = client.get(edit_url(blueprint))
    assert response.status_code == 200
    return editor_values(response.content)


def test_admins_copy_a_built_in_blueprint_under_a_name_of_its_own(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    url = reverse("conversations:blueprint_copy", kwargs={"tenant_slug": "acme"})

    first = client.post(url, {"source": "builtin:network-service"})
    second = client.post(url, {"source": "builtin:network-service"})
    named = client.post(url, {"source": "builtin:business-process", "name": "Approvals"})

    copies = {
        blueprint.name: blueprint for blueprint in TenantBlueprint.objects.for_tenant(tenant_users.tenant)
    }
    assert set(copies) == {"Copy of Network service", "Copy of Network service (2)", "Approvals"}
    assert first["Location"] == edit_url(copies["Copy of Network service"])
    assert second["Location"] == edit_url(copies["Copy of Network service (2)"])
    assert named["Location"] == edit_url(copies["Approvals"])
    assert copies["Approvals"].as_blueprint().fields == BUSINESS_PROCESS.fields
    assert copies["Approvals"].copied_from == "Business process"

    # A copy of the tenant's own blueprint, and a name already taken.
    own = copies["Approvals"]
    again = client.post(url, {"source": f"tenant:{own.pk}"})
    assert again.status_code == 302
    assert TenantBlueprint.objects.for_tenant(tenant_users.tenant).filter(name="Copy of Approvals").exists()
    taken = client.post(url, {"source": "builtin:business-process", "name": "Approvals"})
    assert taken.status_code == 422
    assert "Another blueprint of this organization is called “Approvals”." in taken.content.decode()
    assert TenantBlueprint.objects.for_tenant(tenant_users.tenant).count() == 4


@pytest.mark.parametrize("source", [NETWORK_SERVICE, BUSINESS_PROCESS], ids=lambda source: source.name)
def test_saving_the_editor_unchanged_keeps_the_blueprint_as_it_was(
    source: Blueprint, tenant_users: TenantUsers
) -> None:
    # Every field of both built-ins (conditions on selects and on booleans, suggest,
    # optional fields, lengths) survives the trip through the editor's forms.
    blueprint = copy_of(tenant_users, source)
    client = tenant_users.client_for(tenant_users.admin)
    response = client.post(edit_url(blueprint), open_editor(client, blueprint))
    assert response.status_code == 302
    assert response["Location"] == reverse("conversations:blueprint_list", kwargs={"tenant_slug": "acme"})
    blueprint.refresh_from_db()
    assert blueprint.as_blueprint() == source.model_copy(update={"name": "Ours"})
    assert "Saved Ours" in client.get(response["Location"]).content.decode()


def test_admins_rename_add_delete_and_reorder_fields(tenant_users: TenantUsers) -> None:
    blueprint = copy_of(tenant_users)
    client = tenant_users.client_for(tenant_users.admin)
    url = edit_url(blueprint)
    values = open_editor(client, blueprint)

    # Add a field: the page comes back with one more, empty, form; nothing is saved yet.
    response = client.post(url, {**values, "add": "1"})
    assert response.status_code == 200
    values = editor_values(response.content)
    assert fields_of(values) == [field.key for field in NETWORK_SERVICE.fields] + [""]
    assert saved_blueprint(blueprint).fields == blueprint.fields
    new = len(NETWORK_SERVICE.fields)
    values.update({
        f"fields-{new}-key": "seats",
        f"fields-{new}-label": "Seats",
        f"fields-{new}-question": "How many seats?",
        f"fields-{new}-type": "number",
        f"fields-{new}-min_value": "1",
        f"fields-{new}-max_value": "500",
        f"fields-{new}-depends_on_field": "pricing_model",
        f"fields-{new}-depends_on_op": "in",
        f"fields-{new}-depends_on_value": "Per user, Enterprise contract",
    })  # fmt: skip

    # Move it up past "logging_monitoring" and "authentication".
    for _ in range(2):
        position = index_of(values, "seats")
        response = client.post(url, {**values, "move": f"{position}:up"})
        assert response.status_code == 200
        values = editor_values(response.content)
    assert fields_of(values)[-3:] == ["seats", "authentication", "logging_monitoring"]

    # Rename a label, delete a field, and save.
    values[f"fields-{index_of(values, 'vendor')}-label"] = "Preferred vendor"
    values[f"fields-{index_of(values, 'api_docs')}-DELETE"] = "on"
    response = client.post(url, values)
    assert response.status_code == 302, editor_problems(response.content)

    blueprint.refresh_from_db()
    expected = list(NETWORK_SERVICE.fields)
    expected[1] = expected[1].model_copy(update={"label": "Preferred vendor"})
    expected = [field for field in expected if field.key != "api_docs"]
    seats = BlueprintField(
        key="seats",
        label="Seats",
        question="How many seats?",
        type=FieldType.NUMBER,
        min_value=1,
        max_value=500,
        depends_on=Condition(field="pricing_model", op="in", value=["Per user", "Enterprise contract"]),
    )
    expected.insert(len(expected) - 2, seats)
    assert blueprint.as_blueprint() == Blueprint(
        name="Ours", description=NETWORK_SERVICE.description, fields=expected
    )


def test_a_new_form_left_blank_is_ignored_and_values_follow_the_field_they_test(
    tenant_users: TenantUsers,
) -> None:
    blueprint = copy_of(tenant_users, BUSINESS_PROCESS)
    client = tenant_users.client_for(tenant_users.admin)
    url = edit_url(blueprint)
    values = open_editor(client, blueprint)
    for _ in range(3):
        values = editor_values(client.post(url, {**values, "add": "1"}).content)
    first = len(BUSINESS_PROCESS.fields)
    values.update({
        f"fields-{first}-key": "budget",
        f"fields-{first}-label": "Budget",
        f"fields-{first}-question": "What may it cost a month?",
        f"fields-{first}-type": "number",
        f"fields-{first + 1}-key": "cost_owner",
        f"fields-{first + 1}-label": "Cost owner",
        f"fields-{first + 1}-question": "Who pays?",
        f"fields-{first + 1}-depends_on_field": "budget",
        f"fields-{first + 1}-depends_on_op": "in",
        f"fields-{first + 1}-depends_on_value": "100, 2.5",
        # The third new form stays blank.
    })  # fmt: skip
    response = client.post(url, values)
    assert response.status_code == 302, editor_problems(response.content)
    saved = saved_blueprint(blueprint).as_blueprint()
    assert [field.key for field in saved.fields][-2:] == ["budget", "cost_owner"]
    assert saved.fields[-1].depends_on == Condition(field="budget", op="in", value=[100, 2.5])
    details = saved.field("approval_details")
    assert details is not None
    assert details.depends_on == Condition(field="human_approvals", op="equals", value=True)


def editor_problems(content: bytes) -> str:
    """The error summary of an editor page, for assertion messages."""
    text = content.decode()
    start = text.find('data-testid="blueprint-problems"')
    return text[start : start + 1500] if start >= 0 else "(no problems listed)"


def _set(values: dict[str, Any], key: str, name: str, value: str | list[str]) -> None:
    values[f"fields-{index_of(values, key)}-{name}"] = value


def _delete_all(values: dict[str, Any]) -> None:
    for index in range(int(values["fields-TOTAL_FORMS"])):
        values[f"fields-{index}-DELETE"] = "on"


INVALID_EDITS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "duplicate keys",
        lambda values: _set(values, "vendor", "key", "service_type"),
        "Another field above already has the key “service_type”; keys are unique.",
    ),
    (
        "depends on a later field",
        lambda values: _set(values, "vpn_protocols", "depends_on_field", "pricing_model"),
        "This depends on “pricing_model”, a later field: a field can only depend on an earlier one.",
    ),
    (
        "depends on an unknown field",
        lambda values: _set(values, "vpn_protocols", "depends_on_field", "colour"),
        "This depends on “colour”, which is not a field of this blueprint.",
    ),
    (
        "depends on itself",
        lambda values: _set(values, "vpn_protocols", "depends_on_field", "vpn_protocols"),
        "A field cannot depend on itself.",
    ),
    (
        "based on a later field",
        lambda values: _set(values, "features", "based_on", ["pricing_model"]),
        "“pricing_model” comes after this field: a field is based only on fields above it.",
    ),
    (
        "based on an unknown field",
        lambda values: _set(values, "features", "based_on", ["colour"]),
        "“colour” is not a field of this blueprint.",
    ),
    (
        "based on itself",
        lambda values: _set(values, "features", "based_on", ["service_type", "features"]),
        "A field cannot be based on itself.",
    ),
    (
        "based on each other",
        lambda values: values.update(
            {
                f"fields-{index_of(values, 'vendor')}-based_on": ["features"],
                f"fields-{index_of(values, 'features')}-based_on": ["vendor"],
            }
        ),
        "Fields depend on each other in a circle (vendor depends on features, features depends on vendor):"
        " a field can only depend on fields above it.",
    ),
    (
        "bad based-on key syntax",
        lambda values: _set(values, "features", "based_on", ["Service type"]),
        "Tick fields above this one; keys are lowercase letters, digits and underscores.",
    ),
    (
        "select without options",
        lambda values: _set(values, "pricing_model", "options", "\n  \n"),
        "A select field needs options, one per line (the fallback when it suggests).",
    ),
    (
        "repeated options",
        lambda values: _set(values, "pricing_model", "options", "Per user\nper user"),
        "Options must be distinct and at most 80 characters each.",
    ),
    (
        "too many options",
        lambda values: _set(values, "pricing_model", "options", "\n".join(f"Plan {n}" for n in range(9))),
        "A field offers at most 8 options.",
    ),
    (
        "options on free text",
        lambda values: _set(values, "api_docs", "options", "Swagger"),
        "Only select fields have options or suggestions: clear them or change the type.",
    ),
    (
        "bad key syntax",
        lambda values: _set(values, "vendor", "key", "Vendor name"),
        "The key must start with a lowercase letter and hold only lowercase letters, digits and underscores",
    ),
    (
        "bad condition key syntax",
        lambda values: _set(values, "vpn_protocols", "depends_on_field", "Service type"),
        "Name the earlier field by its key.",
    ),
    (
        "condition without a value",
        lambda values: _set(values, "vpn_protocols", "depends_on_value", ""),
        "Give a value to compare with, or choose “is answered”.",
    ),
    (
        "smallest above largest",
        lambda values: values.update(
            {
                f"fields-{index_of(values, 'api_docs')}-min_value": "5",
                f"fields-{index_of(values, 'api_docs')}-max_value": "1",
            }
        ),
        "The smallest number is above the largest.",
    ),
    ("empty label", lambda values: _set(values, "vendor", "label", ""), "This field is required."),
    ("empty name", lambda values: values.update(name=""), "Give the blueprint a name."),
    (
        "name of another blueprint",
        lambda values: values.update(name="Theirs"),
        "Another blueprint of this organization is called “Theirs”.",
    ),
    ("no fields left", _delete_all, "A blueprint needs at least one field."),
]


@pytest.mark.parametrize(
    ("edit", "message"), [(e, m) for _, e, m in INVALID_EDITS], ids=[i for i, _, _ in INVALID_EDITS]
)
def test_every_rule_refuses_the_save_with_a_message_and_changes_nothing(
    edit: Callable[[dict[str, Any]], None], message: str, tenant_users: TenantUsers
) -> None:
    blueprint = copy_of(tenant_users)
    copy_of(tenant_users, BUSINESS_PROCESS, name="Theirs")
    client = tenant_users.client_for(tenant_users.admin)
    values = open_editor(client, blueprint)
    values["description"] = "Changed, but not saved"
    edit(values)

    response = client.post(edit_url(blueprint), values)

    assert response.status_code == 422
    content = response.content.decode()
    assert "Nothing was saved." in content
    assert message in editor_problems(response.content)
    saved = saved_blueprint(blueprint)
    assert (saved.name, saved.description, saved.fields, saved.updated_at) == (
        blueprint.name,
        blueprint.description,
        blueprint.fields,
        blueprint.updated_at,
    )


def test_a_boolean_condition_compares_with_true_or_false(tenant_users: TenantUsers) -> None:
    blueprint = copy_of(tenant_users, BUSINESS_PROCESS)
    client = tenant_users.client_for(tenant_users.admin)
    values = open_editor(client, blueprint)
    assert values[f"fields-{index_of(values, 'approval_details')}-depends_on_value"] == "true"
    _set(values, "approval_details", "depends_on_value", "maybe")
    response = client.post(edit_url(blueprint), values)
    assert response.status_code == 422
    assert "The field tested is a yes-or-no field: compare with true or false." in response.content.decode()
    _set(values, "approval_details", "depends_on_value", "no")
    assert client.post(edit_url(blueprint), values).status_code == 302
    saved = saved_blueprint(blueprint).as_blueprint().field("approval_details")
    assert saved is not None
    assert saved.depends_on == Condition(field="human_approvals", op="equals", value=False)


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_read_blueprints_but_cannot_change_them(
    role: str, tenant_users: TenantUsers
) -> None:
    blueprint = copy_of(tenant_users)
    before = saved_blueprint(blueprint).fields
    client = tenant_users.client_for(getattr(tenant_users, role))
    admin_values = open_editor(tenant_users.client_for(tenant_users.admin), blueprint)

    listing = client.get(reverse("conversations:blueprint_list", kwargs={"tenant_slug": "acme"}))
    assert listing.status_code == 200
    assert "Ours" in listing.content.decode()
    assert "Copy a blueprint" not in listing.content.decode()
    page = client.get(edit_url(blueprint))
    assert page.status_code == 200
    assert 'data-testid="blueprint-editor"' not in page.content.decode()
    assert "Which vendor&#x27;s products should the service run on?" in page.content.decode()
    builtin = client.get(
        reverse("conversations:blueprint_builtin", kwargs={"tenant_slug": "acme", "key": "business-process"})
    )
    assert builtin.status_code == 200

    slug = {"tenant_slug": "acme"}
    refused = [
        client.post(
            reverse("conversations:blueprint_copy", kwargs=slug), {"source": "builtin:network-service"}
        ),
        client.post(edit_url(blueprint), {**admin_values, "name": "Mine now"}),
        client.post(reverse("conversations:blueprint_delete", kwargs={**slug, "blueprint_id": blueprint.pk})),
    ]
    assert [response.status_code for response in refused] == [403, 403, 403]
    assert list(TenantBlueprint.objects.for_tenant(tenant_users.tenant).values_list("name", "fields")) == [
        ("Ours", before)
    ]


def test_another_tenants_blueprint_is_not_found(tenant_users: TenantUsers) -> None:
    theirs = services.blueprint_copy(
        tenant=tenant_users.other_tenant, actor=None, source=NETWORK_SERVICE, name="Theirs"
    )
    client = tenant_users.client_for(tenant_users.owner)
    kwargs = {"tenant_slug": "acme", "blueprint_id": theirs.pk}
    values = open_editor(tenant_users.client_for(tenant_users.outsider), theirs)
    assert client.get(reverse("conversations:blueprint_edit", kwargs=kwargs)).status_code == 404
    assert (
        client.post(
            reverse("conversations:blueprint_edit", kwargs=kwargs), {**values, "name": "Taken"}
        ).status_code
        == 404
    )
    assert client.post(reverse("conversations:blueprint_delete", kwargs=kwargs)).status_code == 404
    copy = client.post(
        reverse("conversations:blueprint_copy", kwargs={"tenant_slug": "acme"}),
        {"source": f"tenant:{theirs.pk}"},
    )
    assert copy.status_code == 422
    assert not TenantBlueprint.objects.for_tenant(tenant_users.tenant).exists()
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_admins_delete_a_blueprint(tenant_users: TenantUsers) -> None:
    first, second = copy_of(tenant_users), copy_of(tenant_users, name="Second")
    client = tenant_users.client_for(tenant_users.admin)
    list_url = reverse("conversations:blueprint_list", kwargs={"tenant_slug": "acme"})

    response = client.post(
        reverse("conversations:blueprint_delete", kwargs={"tenant_slug": "acme", "blueprint_id": first.pk})
    )
    assert response.status_code == 302
    assert response["Location"] == list_url
    # From the list's htmx form: the browser is sent to the list page.
    response = client.post(
        reverse("conversations:blueprint_delete", kwargs={"tenant_slug": "acme", "blueprint_id": second.pk}),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == list_url

    assert not TenantBlueprint.objects.for_tenant(tenant_users.tenant).exists()
    assert "Deleted Second." in client.get(list_url).content.decode()


def test_a_service_started_from_a_blueprint_keeps_its_copy_when_the_blueprint_changes(
    tenant_users: TenantUsers,
) -> None:
    blueprint = copy_of(tenant_users)
    conversation = services.conversation_create(
        tenant=tenant_users.tenant, owner=tenant_users.member, blueprint=blueprint.as_blueprint()
    )
    started_with = conversation.blueprint
    client = tenant_users.client_for(tenant_users.admin)
    values = open_editor(client, blueprint)
    _set(values, "service_type", "question", "What are we building?")
    values[f"fields-{index_of(values, 'vendor')}-DELETE"] = "on"
    assert client.post(edit_url(blueprint), values).status_code == 302

    edited = saved_blueprint(blueprint).as_blueprint()
    assert edited.fields[0].question == "What are we building?"
    assert edited.field("vendor") is None
    api_docs = edited.field("api_docs")
    assert api_docs is not None
    assert api_docs.based_on == ["service_type"], "a removed field is no longer ticked where it was"
    conversation = Conversation.objects.for_tenant(conversation.tenant).get(pk=conversation.pk)
    assert conversation.blueprint == started_with
    assert conversation.schema().field("vendor") is not None
    later = services.conversation_create(
        tenant=tenant_users.tenant, owner=tenant_users.member, blueprint=edited
    )
    assert later.schema().field("vendor") is None
    # Deleting the blueprint leaves the service as it was, too.
    client.post(
        reverse(
            "conversations:blueprint_delete", kwargs={"tenant_slug": "acme", "blueprint_id": blueprint.pk}
        )
    )
    assert (
        Conversation.objects.for_tenant(conversation.tenant).get(pk=conversation.pk).blueprint == started_with
    )


def test_the_list_offers_admins_copies_and_edits(tenant_users: TenantUsers) -> None:
    blueprint = copy_of(tenant_users)
    admin_page = tenant_users.client_for(tenant_users.admin).get(
        reverse("conversations:blueprint_list", kwargs={"tenant_slug": "acme"})
    )
    content = admin_page.content.decode()
    assert 'value="builtin:network-service"' in content
    assert 'value="builtin:business-process"' in content
    assert edit_url(blueprint) in content
    assert (
        reverse(
            "conversations:blueprint_delete", kwargs={"tenant_slug": "acme", "blueprint_id": blueprint.pk}
        )
        in content
    )
    member_page = tenant_users.client_for(tenant_users.member).get(
        reverse("conversations:blueprint_list", kwargs={"tenant_slug": "acme"})
    )
    assert 'value="builtin:network-service"' not in member_page.content.decode()
    assert "blueprint_delete" not in member_page.content.decode()


def test_a_built_in_blueprint_has_a_read_only_page(tenant_users: TenantUsers) -> None:
    client = tenant_users.client_for(tenant_users.admin)
    page = client.get(
        reverse("conversations:blueprint_builtin", kwargs={"tenant_slug": "acme", "key": "network-service"})
    )
    assert page.status_code == 200
    content = page.content.decode()
    assert all(field.question.replace("'", "&#x27;") in content for field in NETWORK_SERVICE.fields)
    assert "when “service_type” is &#x27;vVPN&#x27;" in content
    assert client.get("/t/acme/blueprints/builtin/no-such-thing/").status_code == 404


def test_editor_pages_do_not_leak_between_requests(tenant_users: TenantUsers) -> None:
    # The autofocus put on a new form must not stick to the form class.
    blueprint = copy_of(tenant_users)
    client = tenant_users.client_for(tenant_users.admin)
    values = open_editor(client, blueprint)
    added = client.post(edit_url(blueprint), {**values, "add": "1"})
    assert added.content.decode().count("autofocus") == 1
    assert "autofocus" not in client.get(edit_url(blueprint)).content.decode()
