"""The editor's side panel for nodes and edges (variables and triggers: `entry_views`).

GET shows one (a form for members, read-only for viewers); POST saves it through
`services.workflow_edit`, so it can be undone. A form that does not validate is answered
422 with its errors, and nothing is stored. Nodes and edges are found by id.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_http_methods, require_POST

from tenants.access import TenantRequest, get_tenant_object_or_404, tenant_view
from workflows import selectors, services
from workflows.analysis.limits import current_limits, no_room_for
from workflows.editor.editing import (
    decision_branches,
    find,
    ids_of,
    items_of,
    with_edge_removed,
    with_item_added,
    with_item_replaced,
    with_node_removed,
)
from workflows.editor.forms import EdgeForm
from workflows.editor.node_forms import NODE_FORMS, NODE_TYPE_LABELS, DecisionForm, NodeForm
from workflows.editor.pages import (
    Panel,
    Urls,
    can_write,
    changed_response,
    editor_response,
    element_finding_rows,
    node_labels,
    overview_panel,
    pretty_json,
)
from workflows.models import Workflow

NEW_NODE_POSITION = {"x": 0.0, "y": 0.0}  # the editor lays the graph out itself


def _workflow(request: TenantRequest, workflow_id: int) -> Workflow:
    return get_tenant_object_or_404(Workflow, request.tenant, pk=workflow_id)


def _node(workflow: Workflow, node_id: str) -> dict[str, Any]:
    node = find(workflow.document, "nodes", node_id)
    if node is None:
        raise Http404("No such node")
    return node


def _node_form(
    request: TenantRequest,
    workflow: Workflow,
    node_type: str,
    *,
    data: Any = None,
    node: dict[str, Any] | None = None,
) -> NodeForm:
    labels = node_labels(workflow.document)
    form_class = NODE_FORMS[node_type]
    return form_class(
        data,
        node_ids=list(labels),
        editing=node["id"] if node is not None else None,
        initial=form_class.initial_of(node) if node is not None else None,
        workflows=selectors.workflow_choices(tenant=request.tenant) if node_type == "subflow" else None,
        node_labels=labels,
    )


def _node_panel(
    request: TenantRequest, workflow: Workflow, form: NodeForm, node: dict[str, Any] | None = None
) -> Panel:
    urls = Urls(workflow)
    node_id = node["id"] if node is not None else None
    context: dict[str, Any] = {
        "form": form,
        "node_type": form.node_type,
        "type_label": NODE_TYPE_LABELS[form.node_type],
        "identity": [form["id"], form["label"]],
        "config": [form[name] for name in form.config_fields],
        "behaviour": [form["timeout_seconds"], form["retry"], *(form[name] for name in form.retry_fields)],
        "branch_forms": form.branch_forms if isinstance(form, DecisionForm) else None,
        "action": urls.node(node_id) if node_id is not None else urls("workflow_node_new"),
    }
    if node_id is not None:
        context.update(_node_neighbourhood(request, workflow, node_id))
    return Panel("node-form", context, selected=node_id)


def _node_neighbourhood(request: TenantRequest, workflow: Workflow, node_id: str) -> dict[str, Any]:
    urls = Urls(workflow)
    edges = [edge for edge in items_of(workflow.document, "edges") if isinstance(edge.get("id"), str)]
    labels = node_labels(workflow.document)
    branches = dict(decision_branches(workflow.document).get(node_id, []))

    def linked(edge: dict[str, Any], other: Any) -> dict[str, Any]:
        handle = edge.get("source_handle")
        return {
            "edge": edge,
            "url": urls.edge(edge["id"]),
            "name": (labels.get(other) or other) if isinstance(other, str) else "?",
            "branch": (branches.get(handle) or handle) if isinstance(handle, str) and handle else "",
        }

    return {
        "node_id": node_id,
        "node_name": labels.get(node_id) or node_id,
        "delete_url": urls("workflow_node_delete", node_id=node_id),
        "add_edge_url": urls("workflow_edge_new") + "?" + urlencode({"source": node_id}),
        "outgoing": [linked(edge, edge.get("target")) for edge in edges if edge.get("source") == node_id],
        "incoming": [linked(edge, edge.get("source")) for edge in edges if edge.get("target") == node_id],
        "findings": element_finding_rows(request, workflow, node_id=node_id),
    }


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_node_new(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """GET ?type=…: the form for a new node of that type; POST: add it."""
    workflow = _workflow(request, workflow_id)
    source = request.POST if request.method == "POST" else request.GET
    node_type = source.get("node_type") or source.get("type", "")
    if node_type not in NODE_FORMS or not can_write(request):
        panel = overview_panel(request, workflow)
        if request.method == "POST":
            return editor_response(
                request, workflow, panel, notice="Choose one of the node types.", status=422
            )
        return editor_response(request, workflow, panel)
    if request.method == "GET":
        return editor_response(
            request, workflow, _node_panel(request, workflow, _node_form(request, workflow, node_type))
        )
    form = _node_form(request, workflow, node_type, data=request.POST)
    if not form.is_valid():
        return editor_response(request, workflow, _node_panel(request, workflow, form), status=422)
    if (full := no_room_for(workflow.document, "nodes", current_limits())) is not None:
        return editor_response(
            request, workflow, _node_panel(request, workflow, form), notice=full, status=422
        )
    node = form.node(position=dict(NEW_NODE_POSITION))
    workflow = services.workflow_change(
        workflow=workflow,
        actor=request.membership.user,
        change=lambda document: with_item_added(document, "nodes", node),
        summary=f"Added {NODE_TYPE_LABELS[node_type].lower()} node “{node['label']}”",
    )
    return changed_response(request, workflow, f"Added node “{node['label']}”.")


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_node(request: TenantRequest, workflow_id: int, node_id: str) -> HttpResponse:
    """A node: its form (members) or its settings (viewers, and nodes of an unknown type)."""
    workflow = _workflow(request, workflow_id)
    node = _node(workflow, node_id)
    node_type = node.get("node_type")
    if not can_write(request) or not isinstance(node_type, str) or node_type not in NODE_FORMS:
        if request.method == "POST":
            return editor_response(
                request,
                workflow,
                _node_view(request, workflow, node),
                notice="This node cannot be edited here.",
                status=422,
            )
        return editor_response(request, workflow, _node_view(request, workflow, node))
    if request.method == "GET":
        form = _node_form(request, workflow, node_type, node=node)
        return editor_response(request, workflow, _node_panel(request, workflow, form, node))
    form = _node_form(request, workflow, node_type, data=request.POST, node=node)
    if not form.is_valid():
        return editor_response(request, workflow, _node_panel(request, workflow, form, node), status=422)
    changed = form.node(position=node.get("position", dict(NEW_NODE_POSITION)))
    workflow = services.workflow_change(
        workflow=workflow,
        actor=request.membership.user,
        change=lambda document: with_item_replaced(document, "nodes", node_id, changed),
        summary=f"Edited node “{changed['label']}”",
    )
    return changed_response(request, workflow, f"Saved node “{changed['label']}”.")


def _node_view(request: TenantRequest, workflow: Workflow, node: dict[str, Any]) -> Panel:
    node_id = str(node["id"])
    context = {
        "node": node,
        "settings": pretty_json(node),
        "type_label": NODE_TYPE_LABELS.get(str(node.get("node_type")), "unknown type"),
        **_node_neighbourhood(request, workflow, node_id),
    }
    return Panel("node-view", context, selected=node_id)


@tenant_view()
@require_POST
def workflow_node_delete(request: TenantRequest, workflow_id: int, node_id: str) -> HttpResponse:
    """Delete a node with its edges (and its place in parallel branch lists)."""
    workflow = _workflow(request, workflow_id)
    node = _node(workflow, node_id)
    _, edge_count = with_node_removed(workflow.document, node_id)
    name = node.get("label") or node_id
    edges = f" and its {edge_count} edge{'s' if edge_count != 1 else ''}" if edge_count else ""
    workflow = services.workflow_change(
        workflow=workflow,
        actor=request.membership.user,
        change=lambda document: with_node_removed(document, node_id)[0],
        summary=f"Deleted node “{name}”{edges}",
    )
    return changed_response(request, workflow, f"Deleted node “{name}”{edges}.")


# Edges


def _edge(workflow: Workflow, edge_id: str) -> dict[str, Any]:
    edge = find(workflow.document, "edges", edge_id)
    if edge is None:
        raise Http404("No such edge")
    return edge


EDGE_FIELDS = ("source", "target", "source_handle", "condition_expression", "label", "id")


def _edge_form(
    workflow: Workflow,
    *,
    data: Any = None,
    edge: dict[str, Any] | None = None,
    initial: dict[str, Any] | None = None,
) -> EdgeForm:
    """The edge's form; `initial` (what a GET asked for) goes over the stored edge's values.
    The stored branch is dropped with the node it is a branch of."""
    stored = EdgeForm.initial_of(edge) if edge is not None else {}
    asked = initial or {}
    if "source" in asked and asked["source"] != stored.get("source"):
        stored.pop("source_handle", None)
    return EdgeForm(
        data,
        node_labels=node_labels(workflow.document),
        edge_ids=ids_of(workflow.document, "edges"),
        branches=decision_branches(workflow.document),
        editing=edge["id"] if edge is not None else None,
        initial={**stored, **asked},
    )


def _asked(request: TenantRequest) -> dict[str, str]:
    """The edge values a GET names (?source=…&target=…), to show the form prefilled."""
    return {name: request.GET[name] for name in EDGE_FIELDS if name in request.GET}


def _edge_panel(
    request: TenantRequest, workflow: Workflow, form: EdgeForm | None, edge: dict[str, Any] | None = None
) -> Panel:
    urls = Urls(workflow)
    edge_id = edge["id"] if edge is not None else None
    context: dict[str, Any] = {
        "form": form,
        "edge": edge,
        "action": urls.edge(edge_id) if edge_id is not None else urls("workflow_edge_new"),
        "no_nodes": not node_labels(workflow.document),
    }
    if edge is not None:
        labels = node_labels(workflow.document)
        for end in ("source", "target"):
            node_id = edge.get(end)
            context[f"{end}_name"] = (labels.get(node_id) or node_id) if isinstance(node_id, str) else "?"
    if edge_id is not None:
        context["delete_url"] = urls("workflow_edge_delete", edge_id=edge_id)
        context["settings"] = pretty_json(edge)
        context["findings"] = element_finding_rows(request, workflow, edge_id=edge_id)
    return Panel(
        "edge-form" if form is not None else "edge-view",
        context,
        selected=f"edge:{edge_id}" if edge_id else None,
    )


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_edge_new(request: TenantRequest, workflow_id: int) -> HttpResponse:
    """GET (?source=…&target=…): the form for a new edge; POST: add it.

    A connection dragged in the graph posts `connect` with its two ends; one out of a decision
    with branches is not added yet but shown as this form, to choose its branch.
    """
    workflow = _workflow(request, workflow_id)
    if not can_write(request):
        return editor_response(request, workflow, overview_panel(request, workflow))
    if request.method == "GET":
        form = _edge_form(workflow, initial=_asked(request))
        return editor_response(request, workflow, _edge_panel(request, workflow, form))
    if request.POST.get("connect") and (question := _branch_question(workflow, request.POST)):
        initial = {"source": request.POST["source"], "target": request.POST["target"]}
        form = _edge_form(workflow, initial=initial)
        return editor_response(request, workflow, _edge_panel(request, workflow, form), notice=question)
    form = _edge_form(workflow, data=request.POST)
    if not form.is_valid():
        return editor_response(request, workflow, _edge_panel(request, workflow, form), status=422)
    if (full := no_room_for(workflow.document, "edges", current_limits())) is not None:
        return editor_response(
            request, workflow, _edge_panel(request, workflow, form), notice=full, status=422
        )
    edge = form.value()
    workflow = services.workflow_change(
        workflow=workflow,
        actor=request.membership.user,
        change=lambda document: with_item_added(document, "edges", edge),
        summary=f"Connected {_ends(workflow, edge)}",
    )
    return changed_response(request, workflow, f"Connected {_ends(workflow, edge)}.")


def _ends(workflow: Workflow, edge: dict[str, Any]) -> str:
    """An edge in words: “Its source” to “its target”, by the nodes' labels."""
    labels = node_labels(workflow.document)
    names = [
        (labels.get(end) or end) if isinstance(end, str) else "?"
        for end in (edge.get("source"), edge.get("target"))
    ]
    return f"“{names[0]}” to “{names[1]}”"


def _branch_question(workflow: Workflow, posted: Any) -> str | None:
    """For a connection from a decision with branches to a node: which branch to ask for."""
    labels = node_labels(workflow.document)
    source, target = posted.get("source"), posted.get("target")
    if source not in labels or target not in labels or source not in decision_branches(workflow.document):
        return None
    return (
        f"Which branch of “{labels[source] or source}” leads to “{labels[target] or target}”? "
        "Choose it below, then add the edge."
    )


@tenant_view()
@require_http_methods(["GET", "POST"])
def workflow_edge(request: TenantRequest, workflow_id: int, edge_id: str) -> HttpResponse:
    workflow = _workflow(request, workflow_id)
    edge = _edge(workflow, edge_id)
    if not can_write(request):
        return editor_response(request, workflow, _edge_panel(request, workflow, None, edge))
    if request.method == "GET":
        form = _edge_form(workflow, edge=edge, initial=_asked(request))
        return editor_response(request, workflow, _edge_panel(request, workflow, form, edge))
    form = _edge_form(workflow, data=request.POST, edge=edge)
    if not form.is_valid():
        return editor_response(request, workflow, _edge_panel(request, workflow, form, edge), status=422)
    changed = form.value()
    workflow = services.workflow_change(
        workflow=workflow,
        actor=request.membership.user,
        change=lambda document: with_item_replaced(document, "edges", edge_id, changed),
        summary=f"Edited the edge from {_ends(workflow, changed)}",
    )
    return changed_response(request, workflow, f"Saved the edge from {_ends(workflow, changed)}.")


@tenant_view()
@require_POST
def workflow_edge_delete(request: TenantRequest, workflow_id: int, edge_id: str) -> HttpResponse:
    workflow = _workflow(request, workflow_id)
    edge = _edge(workflow, edge_id)
    link = _ends(workflow, edge)
    workflow = services.workflow_change(
        workflow=workflow,
        actor=request.membership.user,
        change=lambda document: with_edge_removed(document, edge_id),
        summary=f"Deleted the edge from {link}",
    )
    return changed_response(request, workflow, f"Deleted the edge from {link}.")
