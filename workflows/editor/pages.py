"""How the editor page and its htmx updates are put together.

Every editor view answers with `editor_response`: a whole page for a plain request, or for
htmx the side panel's new content plus out-of-band copies of the graph, the findings, the
head and the undo bar, so the page shows the draft as it now is after every change.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from tenants.access import TenantRequest
from tenants.models import Role
from workflows import selectors
from workflows.analysis.validation import WorkflowAnalysis
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.findings import CYCLIC_GRAPH, ISOLATED_NODE, UNREACHABLE_NODE, Finding
from workflows.editor.drawing import layout
from workflows.editor.editing import items_of
from workflows.editor.element_ids import ElementIdConverter
from workflows.editor.finding_words import Names, explain, node_of
from workflows.editor.graph_svg import render_svg
from workflows.editor.node_forms import NODE_FORMS, NODE_TYPE_LABELS
from workflows.models import Workflow

DETAIL_TEMPLATE = "workflows/detail.html"
UPDATE_TEMPLATE = "workflows/detail.html#editor-update"
PANELS = "workflows/panels.html"


@dataclass
class Panel:
    """What the side panel shows: a partial of workflows/panels.html and its context.

    `selected` is the node id, or `edge:<id>`, drawn as selected in the graph.
    """

    partial: str
    context: dict[str, Any] = field(default_factory=dict)
    selected: str | None = None


# Stands for the element id in a reversed URL, which is then cut around it.
_ELEMENT_PLACEHOLDER = "ELEMENT0PLACEHOLDER"
_ELEMENT_IDS = ElementIdConverter()


class Urls:
    """The editor's URLs for one workflow.

    Every node and edge of the graph and the lists links to its panel: those URLs are
    reversed once and the (converted) id put in its place, not reversed per element (which
    made `reverse` a third of the page's time on large workflows). The converter's output
    needs no further quoting, so the URL is the one `reverse` gives.
    """

    def __init__(self, workflow: Workflow) -> None:
        self.base = {"tenant_slug": workflow.tenant.slug, "workflow_id": workflow.pk}
        self._around: dict[str, tuple[str, str]] = {}

    def __call__(self, name: str, **kwargs: Any) -> str:
        return reverse(f"workflows:{name}", kwargs={**self.base, **kwargs})

    def _element(self, name: str, keyword: str, element_id: str) -> str:
        around = self._around.get(name)
        if around is None:
            before, _, after = self(name, **{keyword: _ELEMENT_PLACEHOLDER}).rpartition(_ELEMENT_PLACEHOLDER)
            around = self._around[name] = (before, after)
        return around[0] + _ELEMENT_IDS.to_url(element_id) + around[1]

    def node(self, node_id: str) -> str:
        return self._element("workflow_node", "node_id", node_id)

    def edge(self, edge_id: str) -> str:
        return self._element("workflow_edge", "edge_id", edge_id)


def can_write(request: TenantRequest) -> bool:
    return request.membership.can(Role.MEMBER)


def node_labels(document: WorkflowDocument) -> dict[str, str]:
    """Node id -> label, in document order (the first node of an id)."""
    labels: dict[str, str] = {}
    for node in items_of(document, "nodes"):
        node_id, label = node.get("id"), node.get("label")
        if isinstance(node_id, str) and node_id not in labels:
            labels[node_id] = label if isinstance(label, str) else ""
    return labels


def finding_rows(
    findings: list[Finding], workflow: Workflow, analysis: WorkflowAnalysis, urls: Urls, *, writable: bool
) -> list[dict[str, Any]]:
    """The findings, errors first, each in words (`finding_words`) with links that open and
    select what it is about, and for a node nothing reaches, one that connects it."""
    document = workflow.document
    known_nodes = node_labels(document)
    raw_nodes = document.get("nodes")
    # By position in the document's list (a finding's path counts entries that are not nodes too).
    order = [
        node["id"] if isinstance(node, dict) and isinstance(node.get("id"), str) else ""
        for node in (raw_nodes if isinstance(raw_nodes, list) else [])
    ]
    types = _raw_node_types(document)
    edges = {
        edge["id"]: (str(edge.get("source")), str(edge.get("target")))
        for edge in items_of(document, "edges")
        if isinstance(edge.get("id"), str)
    }
    entry = _main_entry(analysis)
    names = Names(
        known_nodes,
        edges,
        entry if entry in known_nodes else None,
        lambda node_id, inside: field_label(types.get(node_id, ""), inside),
    )
    rows = []
    ordered = [finding for finding in findings if finding.severity == "error"]
    ordered += [finding for finding in findings if finding.severity != "error"]
    for finding in ordered:
        node_id = node_of(finding, known_nodes, order)
        row: dict[str, Any] = {
            "finding": finding,
            "words": explain(finding, names, node_id),
            "node_id": node_id,
            "links": [],
            "actions": [],
        }
        if finding.code == CYCLIC_GRAPH and finding.path:
            cycle = [str(part) for part in finding.path]
            row["links"] = [
                _node_link(node_id, known_nodes, urls)
                for node_id in dict.fromkeys(cycle)
                if node_id in known_nodes
            ]
        elif node_id is not None:
            row["links"] = [_node_link(node_id, known_nodes, urls)]
            connectable = finding.code in (UNREACHABLE_NODE, ISOLATED_NODE) and names.entry != node_id
            if connectable and names.entry is not None and writable:
                query = urlencode({"source": names.entry, "target": node_id})
                row["actions"] = [
                    {
                        "label": f"Connect from {names.node(names.entry)}",
                        "url": f"{urls('workflow_edge_new')}?{query}",
                        "testid": f"finding-connect-{node_id}",
                    }
                ]
        elif finding.edge_id is not None and finding.edge_id in edges:
            source, target = edges[finding.edge_id]
            row["links"] = [
                {
                    "label": f"{names.node(source)} → {names.node(target)}",
                    "url": urls.edge(finding.edge_id),
                    "testid": f"finding-edge-{finding.edge_id}",
                }
            ]
        elif finding.path and len(finding.path) >= 2 and finding.path[0] in ("variables", "triggers"):
            section, index = str(finding.path[0]), finding.path[1]
            if isinstance(index, int):
                name = "workflow_variable" if section == "variables" else "workflow_trigger"
                keyword = "variable_index" if section == "variables" else "trigger_index"
                row["links"] = [
                    {"label": _entry_name(document, section, index), "url": urls(name, **{keyword: index})}
                ]
        elif finding.path and finding.path[0] == "error_policy":
            row["links"] = [{"label": "error policy", "url": urls("workflow_error_policy")}]
        rows.append(row)
    return rows


def _name_of(node_id: object, labels: dict[str, str]) -> str:
    """A node as a list names it: its label, else its id."""
    return (labels.get(node_id) or node_id) if isinstance(node_id, str) else "?"


def _main_entry(analysis: WorkflowAnalysis) -> str | None:
    """The entry node the workflow's main flow starts at: the first with edges out (a node
    not yet connected is an entry too, but not the one to connect others from)."""
    graph = analysis.graph
    if graph is None or not graph.entries:
        return None
    return next((node for node in graph.entries if graph.successors(node)), graph.entries[0])


def _entry_name(document: WorkflowDocument, section: str, index: int) -> str:
    """A variable by its name, a trigger by its type; by its number if it has neither."""
    entries = document.get(section)
    entry = entries[index] if isinstance(entries, list) and 0 <= index < len(entries) else None
    key = "name" if section == "variables" else "trigger_type"
    value = entry.get(key) if isinstance(entry, dict) else None
    if isinstance(value, str) and value:
        return f"variable {value}" if section == "variables" else f"{value} trigger"
    return f"{section[:-1]} {index + 1}"


def _node_link(node_id: str, labels: dict[str, str], urls: Urls) -> dict[str, str]:
    return {
        "label": labels[node_id] or node_id,
        "url": urls.node(node_id),
        "testid": f"finding-node-{node_id}",
    }


@functools.cache
def _field_labels(node_type: str) -> dict[str, str]:
    """A node type's form labels by where the field goes in the node: `config.activity_name`,
    `retry_policy.max_attempts`, `timeout_seconds`."""
    form = NODE_FORMS.get(node_type)
    if form is None:
        return {}
    labels: dict[str, str] = {}
    for name, form_field in form.base_fields.items():
        if name in form.config_fields:
            labels[f"config.{form.renamed.get(name, name)}"] = str(form_field.label)
        elif name in form.retry_fields:
            labels[f"retry_policy.{name.removeprefix('retry_')}"] = str(form_field.label)
        elif name in ("label", "timeout_seconds"):
            labels[name] = str(form_field.label)
    return labels


def field_label(node_type: str, inside: tuple[str | int, ...]) -> str | None:
    """The form's label of a node's field at `inside` (a path within the node), if any."""
    return _field_labels(node_type).get(".".join(str(part) for part in inside))


def findings_for(
    analysis: WorkflowAnalysis, *, node_id: str | None = None, edge_id: str | None = None
) -> list[Finding]:
    """The findings about one node (a cycle through it included) or one edge."""
    if node_id is not None:
        return [
            finding
            for finding in analysis.findings
            if finding.node_id == node_id
            or (finding.code == CYCLIC_GRAPH and finding.path and node_id in finding.path)
        ]
    return [finding for finding in analysis.findings if edge_id is not None and finding.edge_id == edge_id]


def element_finding_rows(
    request: TenantRequest, workflow: Workflow, *, node_id: str | None = None, edge_id: str | None = None
) -> list[dict[str, Any]]:
    """The side panel's findings about one node or one edge, as `finding_rows`."""
    analysis = selectors.analysis_of(workflow)
    found = findings_for(analysis, node_id=node_id, edge_id=edge_id)
    return finding_rows(found, workflow, analysis, Urls(workflow), writable=can_write(request))


def status_of(workflow: Workflow) -> dict[str, str]:
    """The list's and the head's status badge: draft, published vN, or unpublished changes."""
    if workflow.published_version == 0:
        return {"key": "draft", "text": "draft"}
    if workflow.has_changes:
        return {"key": "changed", "text": f"v{workflow.published_version} + unpublished changes"}
    return {"key": "published", "text": f"published v{workflow.published_version}"}


def overview_panel(request: TenantRequest, workflow: Workflow) -> Panel:
    """The panel's resting state: what to add, and every part of the workflow to open."""
    urls = Urls(workflow)
    document = workflow.document
    labels = node_labels(document)
    types = _node_types(document)
    edges = []
    for edge in items_of(document, "edges"):
        edge_id = edge.get("id")
        if not isinstance(edge_id, str):
            continue
        condition = edge.get("condition")
        edges.append(
            {
                "id": edge_id,
                "source": _name_of(edge.get("source"), labels),
                "target": _name_of(edge.get("target"), labels),
                "condition": condition.get("expression") if isinstance(condition, dict) else None,
                "url": urls.edge(edge_id),
            }
        )
    raw_variables = document.get("variables")
    raw_triggers = document.get("triggers")
    policy = document.get("error_policy")
    context = {
        "palette": [
            {"type": node_type, "label": label, "url": urls("workflow_node_new") + f"?type={node_type}"}
            for node_type, label in NODE_TYPE_LABELS.items()
        ],
        "nodes": [
            {"id": node_id, "label": label, "url": urls.node(node_id), "type": types[node_id]}
            for node_id, label in labels.items()
        ],
        "edges": edges,
        "variables": [
            {"index": index, "item": item, "url": urls("workflow_variable", variable_index=index)}
            for index, item in enumerate(raw_variables if isinstance(raw_variables, list) else [])
            if isinstance(item, dict)
        ],
        "triggers": [
            {"index": index, "item": item, "url": urls("workflow_trigger", trigger_index=index)}
            for index, item in enumerate(raw_triggers if isinstance(raw_triggers, list) else [])
            if isinstance(item, dict)
        ],
        "policy": policy if isinstance(policy, dict) else {},
        "add_edge_url": urls("workflow_edge_new"),
        "add_variable_url": urls("workflow_variable_new"),
        "add_trigger_url": urls("workflow_trigger_new"),
        "policy_url": urls("workflow_error_policy"),
    }
    return Panel("overview", context)


def _node_types(document: WorkflowDocument) -> dict[str, str]:
    """Node id -> the label of its type (of the first node of that id)."""
    return {
        node_id: NODE_TYPE_LABELS.get(node_type, "unknown")
        for node_id, node_type in _raw_node_types(document).items()
    }


def _raw_node_types(document: WorkflowDocument) -> dict[str, str]:
    """Node id -> its node_type as stored (of the first node of that id)."""
    types: dict[str, str] = {}
    for node in items_of(document, "nodes"):
        node_id, node_type = node.get("id"), node.get("node_type")
        if isinstance(node_id, str) and node_id not in types:
            types[node_id] = node_type if isinstance(node_type, str) else ""
    return types


def pretty_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False)


def editor_response(
    request: TenantRequest,
    workflow: Workflow,
    panel: Panel,
    *,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    """The editor with `panel` in the side panel: the page, or its htmx update."""
    analysis = selectors.analysis_of(workflow)
    urls = Urls(workflow)
    writable = can_write(request)
    rows = finding_rows(analysis.findings, workflow, analysis, urls, writable=writable)
    # The graph's tooltips say what the findings panel says, once per finding.
    words = {id(row["finding"]): row["words"] for row in rows}
    drawing = layout(
        workflow.document,
        analysis.findings,
        describe=lambda finding: f"{words[id(finding)].headline}. {words[id(finding)].advice}".strip(),
    )
    context = {
        "workflow": workflow,
        "can_write": writable,
        "analysis": analysis,
        "status": status_of(workflow),
        "finding_rows": rows,
        "error_count": len(analysis.errors),
        "warning_count": len(analysis.warnings),
        "graph_svg": render_svg(
            drawing, node_url=urls.node, edge_url=urls.edge, selected=panel.selected, connectable=writable
        ),
        "has_nodes": bool(drawing.nodes),
        "last_change": selectors.last_change(workflow),
        "panel_template": f"{PANELS}#{panel.partial}",
        "panel": panel.context,
        "notice": notice,
        "urls": {
            "overview": urls("workflow_detail"),
            "undo": urls("workflow_undo"),
            "rename": urls("workflow_rename"),
            "add_edge": urls("workflow_edge_new"),
            "list": reverse("workflows:workflow_list", kwargs={"tenant_slug": workflow.tenant.slug}),
        },
    }
    template = UPDATE_TEMPLATE if request.htmx else DETAIL_TEMPLATE
    return render(request, template, context, status=status)


def changed_response(request: TenantRequest, workflow: Workflow, notice: str) -> HttpResponse:
    """After a change: the htmx update with the overview, or a redirect to the page."""
    if request.htmx:
        return editor_response(request, workflow, overview_panel(request, workflow), notice=notice)
    messages.success(request, notice)
    return redirect("workflows:workflow_detail", tenant_slug=workflow.tenant.slug, workflow_id=workflow.pk)
