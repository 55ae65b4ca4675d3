"""Walk every URL pattern under /t/<tenant_slug>/ with each kind of user.

New features are covered as soon as their URLs are routed: a pattern with a keyword this
walk cannot fill fails until OBJECT_KWARGS learns how to make such an object.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from api import services as api_key_services
from conversations import services as conversation_services
from conversations.blueprints.builtin import NETWORK_SERVICE
from conversations.models import Conversation
from providers import services
from providers.models import ProviderLog
from tenants.models import Membership, Role, Tenant
from tests.conftest import TenantUsers
from tests.factories import InvitationFactory
from tests.workflows import samples
from workflows import services as workflow_services
from workflows.models import Workflow, WorkflowProposal

pytestmark = pytest.mark.django_db

TENANT_PREFIX = "t/<slug:tenant_slug>/"
PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


# How to make an object of one tenant for each URL keyword. The object must be one that a
# viewer may not write to, so the viewer's POST is refused for lack of role.
def _conversation(tenant: Tenant) -> int:
    owner = Membership.objects.for_tenant(tenant).select_related("user").first()
    assert owner is not None
    conversation = conversation_services.conversation_create(
        tenant=tenant, owner=owner.user, blueprint=NETWORK_SERVICE
    )
    conversation_services.answers_apply(conversation=conversation, values={"service_type": "vFirewall"})
    return conversation.pk


def _workflow(tenant: Tenant) -> int:
    """A valid workflow (it compiles) with one node; versions below are published from it."""
    document = samples.workflow([samples.node("start")], name=f"Walk {tenant.slug}")
    return workflow_services.workflow_create(
        tenant=tenant, actor=None, name=f"Walk {tenant.slug}", document=document
    ).pk


def _proposal(tenant: Tenant) -> int:
    """A ready AI proposal (no model is run) for a new workflow from a conversation."""
    conversation = Conversation.objects.for_tenant(tenant).get(pk=_conversation(tenant))
    base = workflow_services.blank_document(
        workflow_uuid=uuid.uuid4(), tenant=tenant, name=conversation.title
    )
    document = {
        **samples.workflow([samples.node("start")]),
        **{key: base[key] for key in ("id", "name", "tenant_id")},
    }
    return WorkflowProposal.objects.create(
        tenant=tenant,
        kind=WorkflowProposal.Kind.GENERATE,
        state=WorkflowProposal.State.READY,
        conversation=conversation,
        base_document=base,
        document=document,
        attempts=1,
    ).pk


def _generation(tenant: Tenant) -> int:
    """A completed service generation (no job is run) with one stored file."""
    from codegen import artifacts
    from codegen.models import FileVersion, GeneratedFile, Generation

    generation = Generation.objects.create(
        tenant=tenant,
        title=f"Walk {tenant.slug}",
        requirements={"title": "Walk", "requirements": {}},
        state=Generation.State.COMPLETED,
        plan={"files": [{"path": "app/main.py", "purpose": "", "language": "python", "depends_on": []}]},
    )
    file = GeneratedFile.objects.create(
        tenant=tenant, generation=generation, path="app/main.py", status=GeneratedFile.Status.VALID
    )
    content = "print('walk')\n"
    FileVersion.objects.create(
        tenant=tenant,
        file=file,
        number=1,
        kind=FileVersion.Kind.GENERATED,
        storage_name=artifacts.store(artifacts.version_name(file, 1), content),
        sha256=artifacts.digest(content),
    )
    return generation.pk


def _latest_workflow_with(tenant: Tenant, section: str, item: dict[str, object]) -> int:
    """Add `item` to a section of the workflow `_workflow` made last; its index there."""
    workflow = Workflow.objects.for_tenant(tenant).latest("pk")
    document = dict(workflow.document)
    document[section] = [*document.get(section, []), item]
    workflow_services.workflow_edit(workflow=workflow, actor=None, document=document, summary="walk")
    return len(document[section]) - 1


def _edge_id(tenant: Tenant) -> str:
    """An edge of the workflow `_workflow` made last (to a second node added for it)."""
    _latest_workflow_with(tenant, "nodes", samples.node("finish"))
    _latest_workflow_with(tenant, "edges", samples.edge("walk_edge", "start", "finish"))
    return "walk_edge"


def _version_number(tenant: Tenant) -> int:
    """A published version of the workflow `_workflow` made last for this tenant."""
    workflow = Workflow.objects.for_tenant(tenant).latest("pk")
    return workflow_services.workflow_publish(workflow=workflow, actor=None).number


def _run(tenant: Tenant) -> int:
    """A finished run (no Temporal is reached) of the workflow `_workflow` made last for this
    tenant (made here when there is none)."""
    from runs.models import Run

    if not Workflow.objects.for_tenant(tenant).exists():
        _workflow(tenant)
    workflow = Workflow.objects.for_tenant(tenant).latest("pk")
    return Run.objects.create(
        tenant=tenant,
        workflow=workflow,
        title=workflow.name,
        document=workflow.document,
        status=Run.Status.SUCCEEDED,
        temporal_workflow_id=f"walk-{uuid.uuid4().hex}",
    ).pk


def _task(tenant: Tenant) -> int:
    """A completed human task of a finished run."""
    from runs.models import HumanTask, Run

    run = Run.objects.for_tenant(tenant).get(pk=_run(tenant))
    return HumanTask.objects.create(
        tenant=tenant,
        run=run,
        node_id="start",
        temporal_workflow_id=run.temporal_workflow_id,
        task_type="approval",
        title="Walk",
        status=HumanTask.Status.COMPLETED,
    ).pk


OBJECT_KWARGS: dict[str, Callable[[Tenant], int | str]] = {
    "member_id": lambda tenant: (
        Membership.objects.for_tenant(tenant)
        .exclude(role=Role.VIEWER)
        .order_by("-role")
        .values_list("pk", flat=True)[0]
    ),
    "invitation_id": lambda tenant: InvitationFactory.create(tenant=tenant).pk,
    "credential_id": lambda tenant: (
        services.credential_create(
            tenant=tenant,
            actor=None,
            name=f"key-{tenant.slug}",
            kind="openai",
            api_key="sk-walk-0000000000",
            default_model="m",
        ).pk
    ),
    "conversation_id": _conversation,
    "blueprint_id": lambda tenant: (
        conversation_services.blueprint_copy(
            tenant=tenant, actor=None, source=NETWORK_SERVICE, name=f"Walk {tenant.slug}"
        ).pk
    ),
    "key": lambda tenant: "service_type",
    "workflow_id": _workflow,
    "node_id": lambda tenant: "start",  # the node of `_workflow`
    "edge_id": _edge_id,
    "variable_index": lambda tenant: _latest_workflow_with(tenant, "variables", samples.variable("walk")),
    "trigger_index": lambda tenant: 0,  # `_workflow` starts manually
    "proposal_id": _proposal,
    "generation_id": _generation,
    "number": _version_number,
    "run_id": _run,
    "task_id": _task,
    "api_key_id": lambda tenant: (
        api_key_services.api_key_create(tenant=tenant, actor=None, name="walk", scopes=["gateway"]).key.pk
    ),
    "log_id": lambda tenant: (
        ProviderLog.objects.create(
            tenant=tenant, request_id="req_walk", task="api", provider="p", kind="openai", model="m"
        ).pk
    ),
}


@dataclass(frozen=True)
class Route:
    template: str
    name: str
    keywords: tuple[str, ...]

    def url(self, slug: str, objects: dict[str, int | str]) -> str:
        values = {"tenant_slug": slug, **{key: str(value) for key, value in objects.items()}}
        return "/" + PARAMETER.sub(lambda match: values[match.group(1)], self.template)


def _walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        else:
            yield route, entry


def tenant_routes() -> list[Route]:
    routes = []
    for template, pattern in _walk(get_resolver().url_patterns):
        if not template.startswith(TENANT_PREFIX):
            continue
        keywords = tuple(name for name in PARAMETER.findall(template) if name != "tenant_slug")
        routes.append(Route(template, pattern.name or template, keywords))
    return routes


ROUTES = tenant_routes()


def test_the_walk_finds_the_tenant_pages() -> None:
    names = {route.name for route in ROUTES}
    assert {
        "dashboard",
        "members",
        "member_role",
        "member_remove",
        "tenant_settings",
        "provider_list",
        "usage",
        "key_list",
        "key_revoke",
    } <= names


def objects_of(tenant: Tenant, route: Route) -> dict[str, int | str]:
    missing = [keyword for keyword in route.keywords if keyword not in OBJECT_KWARGS]
    if missing:
        pytest.fail(f"{route.template} takes {missing}: teach OBJECT_KWARGS how to make one")
    return {keyword: OBJECT_KWARGS[keyword](tenant) for keyword in route.keywords}


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_outsiders_get_404_for_every_method(route: Route, tenant_users: TenantUsers) -> None:
    url = route.url("acme", objects_of(tenant_users.tenant, route))
    client = tenant_users.client_for(tenant_users.outsider)
    for method in ("get", "post", "put", "delete"):
        response = getattr(client, method)(url)
        assert response.status_code == 404, f"{method.upper()} {url} -> {response.status_code}"


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_a_missing_tenant_is_404_like_a_foreign_one(route: Route, tenant_users: TenantUsers) -> None:
    url = route.url("no-such-tenant", objects_of(tenant_users.tenant, route))
    assert tenant_users.client_for(tenant_users.owner).get(url).status_code == 404


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_another_tenants_objects_look_missing_under_your_own_tenant(
    route: Route, tenant_users: TenantUsers
) -> None:
    if not route.keywords:
        return
    foreign = route.url("acme", objects_of(tenant_users.other_tenant, route))
    missing = route.url("acme", dict.fromkeys(route.keywords, 987654321))
    client = tenant_users.client_for(tenant_users.owner)
    statuses = {}
    for method in ("get", "post"):
        statuses[method] = getattr(client, method)(foreign).status_code
        # An action may refuse a method (405) before any row is read: fine, as long as a
        # foreign row and a missing one answer alike.
        assert statuses[method] == getattr(client, method)(missing).status_code, f"{method.upper()} {foreign}"
    assert 404 in statuses.values(), f"{foreign} -> {statuses}"


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_anonymous_visitors_are_sent_to_log_in(route: Route, tenant_users: TenantUsers) -> None:
    url = route.url("acme", objects_of(tenant_users.tenant, route))
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_members_of_every_role_can_read_and_nothing_of_another_tenant_leaks(
    route: Route, tenant_users: TenantUsers
) -> None:
    url = route.url("acme", objects_of(tenant_users.tenant, route))
    for user in (tenant_users.owner, tenant_users.admin, tenant_users.member, tenant_users.viewer):
        response = tenant_users.client_for(user).get(url)
        # 405: an action that only takes POST; 302: an old link sent on to a page of the tenant.
        assert response.status_code in (200, 302, 405), f"{user.email} GET {url} -> {response.status_code}"
        if response.status_code == 302:
            assert response["Location"].startswith("/t/acme/"), (
                f"{user.email} GET {url} -> {response['Location']}"
            )
            continue
        if response.get("Content-Type", "").startswith("application/zip"):
            continue  # a download: its names are the tenant's files
        body = response.content.decode()
        assert "Globex Secret Labs" not in body
        assert "outsider@globex.test" not in body


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_viewers_cannot_write(route: Route, tenant_users: TenantUsers) -> None:
    url = route.url("acme", objects_of(tenant_users.tenant, route))
    response = tenant_users.client_for(tenant_users.viewer).post(url, {})
    assert response.status_code == 403, f"viewer POST {url} -> {response.status_code}"
