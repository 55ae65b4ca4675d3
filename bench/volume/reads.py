"""What the page benchmark reads for a tenant: every portal page under t/<slug>/ (taken from
the URLconf, so a new page is timed without being named here), the public API's reads, and
the command line's read reports.

A route with path arguments besides the tenant's slug is read for one object of the tenant
(`anchors_of`: the latest complete conversation, a published workflow, …); a route whose
object the volume does not hold (runs, generations) is reported as not read. List pages are
also read with the filters and windows people use (`VARIANTS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from api.inference.models import InferenceRequest
from api.models import ApiKey
from conversations.models import Conversation, TenantBlueprint
from providers.models import LogState, ProviderCredential, ProviderLog
from tenants.models import Invitation, Membership, Role, Tenant
from workflows.models import Workflow, WorkflowProposal

TENANT_PREFIX = "t/<slug:tenant_slug>/"
ARGUMENT = re.compile(r"<(?:[^>:]+:)?(\w+)>")

# Query strings list pages are read with besides none; {provider}, {since}, {until} filled in.
VARIANTS: dict[str, list[dict[str, str]]] = {
    "providers:provider_logs": [
        {"provider": "{provider}"},
        {"state": "failed"},
        {"task": "workflow"},
        {"since": "{since}", "until": "{until}"},
        {"window": "24h"},
        {"page": "20"},
    ],
    "providers:usage": [{"window": "24h"}, {"window": "7d"}, {"window": "30d"}],
    "conversations:conversation_list": [{"q": "payments"}, {"status": "complete"}, {"page": "10"}],
    "workflows:workflow_list": [{"q": "refund"}],
}
BUSIEST_PROVIDER = "team-anthropic"  # bench.volume.provider_logs.PROVIDERS[0]


@dataclass(frozen=True)
class Route:
    """A named route under t/<slug>/: `arguments` are its path arguments besides the slug,
    `defaults` the extra keyword arguments the route passes (one route per built-in blueprint)."""

    name: str
    route: str
    arguments: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        extra = ",".join(str(value) for value in self.defaults.values())
        return f"{self.name}[{extra}]" if extra else self.name

    @property
    def is_list(self) -> bool:
        """A page of the tenant as a whole: no object named in its path."""
        return not self.arguments


def tenant_routes() -> list[Route]:
    """Every named route of the tenant portal, in URLconf order."""
    found: list[Route] = []

    def walk(patterns: list[URLPattern | URLResolver], prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = ":".join(filter(None, [namespace, entry.namespace or ""]))
                walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif entry.name and prefix.startswith(TENANT_PREFIX):
                route = prefix + str(entry.pattern)
                arguments = tuple(name for name in ARGUMENT.findall(route) if name != "tenant_slug")
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                found.append(Route(name, route, arguments, dict(entry.default_args)))

    walk(get_resolver().url_patterns, "", "")
    return found


def anchors_of(tenant: Tenant) -> dict[str, Any]:
    """The objects a detail route is read for, by path argument name."""
    anchors: dict[str, Any] = {}
    # The first conversation and workflow: the volume makes them alike in every tenant.
    conversation = Conversation.objects.for_tenant(tenant).order_by("pk").first()
    if conversation is not None:
        anchors["conversation_id"] = conversation.pk
        anchors["key"] = next(iter(conversation.answers), None)
    workflow = Workflow.objects.for_tenant(tenant).order_by("pk").first()
    if workflow is not None:
        document = workflow.document
        anchors.update(
            workflow_id=workflow.pk,
            number=workflow.published_version or None,
            node_id=document["nodes"][0]["id"] if document.get("nodes") else None,
            edge_id=document["edges"][0]["id"] if document.get("edges") else None,
            variable_index=0 if document.get("variables") else None,
            trigger_index=0 if document.get("triggers") else None,
        )
    log = (
        ProviderLog.objects.for_tenant(tenant).exclude(state=LogState.PENDING).order_by("-started_at").first()
    )
    credential = ProviderCredential.objects.for_tenant(tenant).order_by("pk").first()
    blueprint = TenantBlueprint.objects.for_tenant(tenant).order_by("pk").first()
    member = Membership.objects.for_tenant(tenant).exclude(role=Role.OWNER).order_by("pk").first()
    invitation = Invitation.objects.for_tenant(tenant).filter(accepted_at__isnull=True).order_by("pk").first()
    api_key = ApiKey.objects.for_tenant(tenant).order_by("pk").first()
    proposal = WorkflowProposal.objects.for_tenant(tenant).filter(api_key="").order_by("-pk").first()
    for name, found in [
        ("log_id", log),
        ("credential_id", credential),
        ("blueprint_id", blueprint),
        ("member_id", member),
        ("invitation_id", invitation),
        ("api_key_id", api_key),
        ("proposal_id", proposal),
    ]:
        anchors[name] = found.pk if found is not None else None
    return {name: value for name, value in anchors.items() if value is not None}


@dataclass(frozen=True)
class Read:
    """One thing the benchmark times: a GET of a page or an API route, or a CLI report."""

    label: str  # the same for every tenant, so the big tenant's time meets the small one's
    kind: Literal["page", "api", "cli"]
    target: str | tuple[str, ...]  # a path, or the command's arguments


def _query(variant: dict[str, str]) -> str:
    today = timezone.localdate()
    values = {"provider": BUSIEST_PROVIDER, "since": str(today - timedelta(days=7)), "until": str(today)}
    return urlencode({name: value.format(**values) for name, value in variant.items()})


def page_reads(tenant: Tenant) -> tuple[list[Read], dict[str, str]]:
    """The portal's pages to read for `tenant`, and the routes left out, with why."""
    anchors = anchors_of(tenant)
    reads: list[Read] = []
    left_out: dict[str, str] = {}
    for route in tenant_routes():
        missing = [name for name in route.arguments if name not in anchors]
        if missing:
            left_out[route.label] = f"no {', '.join(missing)} in the volume"
            continue
        kwargs = {"tenant_slug": tenant.slug, **route.defaults}
        kwargs.update({name: anchors[name] for name in route.arguments})
        path = reverse(route.name, kwargs=kwargs)
        reads.append(Read(route.label, "page", path))
        for variant in VARIANTS.get(route.name, []):
            query = _query(variant)
            label = route.label + " ?" + urlencode(variant).replace("%7B", "{").replace("%7D", "}")
            reads.append(Read(label, "page", f"{path}?{query}"))
    return reads, left_out


def api_reads(tenant: Tenant) -> list[Read]:
    """The public API's reads (every GET route that reads the tenant's data)."""
    reads = [
        Read("GET /v1/models", "api", "/v1/models"),
        Read("GET /v1/models/auto", "api", "/v1/models/auto"),
        Read("GET /api/v1/workflows/schema", "api", "/api/v1/workflows/schema"),
    ]
    inference = InferenceRequest.objects.for_tenant(tenant).order_by("-pk").first()
    if inference is not None:
        reads.append(Read("GET /api/v1/status/{id}", "api", f"/api/v1/status/{inference.request_id}"))
        reads.append(Read("GET /api/v1/result/{id}", "api", f"/api/v1/result/{inference.request_id}"))
    job = WorkflowProposal.objects.for_tenant(tenant).exclude(api_key="").order_by("-pk").first()
    if job is not None:
        reads.append(Read("GET /api/v1/jobs/{id}", "api", f"/api/v1/jobs/{job.pk}"))
    return reads


def cli_reads(tenant: Tenant, workflow_file: str) -> list[Read]:
    """The read reports of manage.py (writes, network probes and generation left out)."""
    slug = tenant.slug
    commands = [
        ("provider", "--tenant", slug, "stats", "--hours", "24"),
        ("provider", "--tenant", slug, "stats", "--hours", "720"),
        ("provider", "--tenant", slug, "logs", "-n", "20"),
        ("provider", "--tenant", slug, "logs", "--failed"),
        ("provider", "--tenant", slug, "circuit", "status"),
        ("apikey", "list", "--tenant", slug),
        ("workflow", "validate", workflow_file, "--tenant", slug),
    ]
    shown = {slug: "SLUG", workflow_file: "FILE"}
    return [
        Read("manage.py " + " ".join(shown.get(part, part) for part in command), "cli", command)
        for command in commands
    ]
