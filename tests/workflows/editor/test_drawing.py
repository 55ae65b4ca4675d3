"""The editor's graph: layered layout, cycles drawn, findings marked, output escaped and stable."""

from __future__ import annotations

import re
import time

from tests.workflows import samples
from workflows.analysis.validation import validate_workflow
from workflows.dsl.document_types import WorkflowDocument
from workflows.editor.drawing import NODE_HEIGHT, layout
from workflows.editor.graph_svg import render_svg


def _analysed(document: WorkflowDocument) -> str:
    findings = validate_workflow(document, known_workflow_ids=samples.KNOWN_WORKFLOW_IDS).findings
    return render_svg(layout(document, findings), node_url=lambda node_id: f"/n/{node_id}/")


def _node_classes(svg: str) -> dict[str, str]:
    found = re.findall(r'<g class="(wf-node[^"]*)" data-testid="node-([^"]+)"', svg)
    return {node_id: classes for classes, node_id in found}


def _edge_classes(svg: str, edge_id: str) -> list[str]:
    found = re.search(rf'<g class="([^"]*)" data-testid="edge-{re.escape(edge_id)}"', svg)
    assert found is not None, edge_id
    return found.group(1).split()


def test_layers_follow_topological_generations_and_keep_document_order() -> None:
    document = samples.workflow(
        [samples.node(name) for name in ("start", "left", "right", "join")],
        [
            *samples.chain("start", "left", "join"),
            samples.edge("e2", "start", "right"),
            samples.edge("e3", "right", "join"),
        ],
    )
    drawing = layout(document)
    places = {node.id: (node.x, node.y) for node in drawing.nodes}
    assert places["start"][1] < places["left"][1] == places["right"][1] < places["join"][1]
    assert places["left"][0] < places["right"][0]
    assert places["start"][0] == places["join"][0], "a layer with one node is centred on the widest"
    assert drawing.back_edges == []
    assert drawing.height >= 3 * NODE_HEIGHT


def test_a_cycle_is_drawn_with_its_back_edge_and_every_node_on_it_marked() -> None:
    nodes = [samples.node(name) for name in ("start", "check", "fix", "done")]
    edges = [*samples.chain("start", "check", "fix", "done"), samples.edge("loop", "fix", "check")]
    document = samples.workflow(nodes, edges)
    findings = validate_workflow(document, known_workflow_ids=()).findings
    assert any(finding.code == "cyclic_graph" for finding in findings)

    drawing = layout(document, findings)
    assert [edge.id for edge in drawing.back_edges] == ["loop"]
    assert {edge.id for edge in drawing.edges} == {"e_start_check", "e_check_fix", "e_fix_done", "loop"}
    svg = _analysed(document)
    classes = _node_classes(svg)
    for node_id in ("check", "fix"):
        assert {"has-error", "in-cycle"} <= set(classes[node_id].split())
    for node_id in ("start", "done"):
        assert "has-error" not in classes[node_id].split()
    assert set(_edge_classes(svg, "loop")) >= {"back-edge", "state-error", "in-cycle"}
    assert "state-error" not in _edge_classes(svg, "e_fix_done")


def test_a_graph_that_is_all_cycle_still_gets_a_place_for_every_node() -> None:
    document = samples.workflow(
        [samples.node(name) for name in ("a", "b", "c")],
        [*samples.chain("a", "b", "c"), samples.edge("back", "c", "a"), samples.edge("self", "b", "b")],
    )
    drawing = layout(document)
    assert len({(node.x, node.y) for node in drawing.nodes}) == 3
    assert {edge.id for edge in drawing.back_edges} == {"back", "self"}


def test_edge_labels_come_from_conditions_and_decision_branches() -> None:
    decision = samples.node(
        "route",
        "decision",
        branches=[{"id": "big", "condition": "amount > 1000", "label": "Large order"}],
    )
    document = samples.workflow(
        [samples.node("start"), decision, samples.node("approve"), samples.node("ship")],
        [
            samples.edge("e1", "start", "route"),
            samples.edge("e2", "route", "approve", handle="big"),
            samples.edge("e3", "route", "ship", condition="amount <= 1000"),
        ],
    )
    labels = {edge.id: edge.label for edge in layout(document).edges}
    assert labels == {"e1": "", "e2": "Large order", "e3": "amount <= 1000"}


def test_every_document_string_is_escaped() -> None:
    hostile = '"><script>alert(1)</script>'
    node = samples.node("x\"'<>&")
    node["label"] = hostile
    document = samples.workflow(
        [node, samples.node("y")],
        [samples.edge(f"e{hostile}", "x\"'<>&", "y", condition=f"a == '{hostile}'")],
    )
    svg = _analysed(document)
    assert "<script>" not in svg
    assert 'data-node-id="x&quot;&#x27;&lt;&gt;&amp;"' in svg
    assert "&lt;script&gt;" in svg


def test_broken_documents_draw_what_can_be_drawn() -> None:
    document: WorkflowDocument = {
        "nodes": [
            {"id": "a", "label": 3},
            "junk",
            {"label": "no id"},
            {"id": "a"},
            {"id": "b", "node_type": "wait"},
        ],
        "edges": [
            {"id": "e", "source": "a", "target": "missing"},
            {"id": "f", "source": "a", "target": "b"},
            7,
        ],
    }
    drawing = layout(document)
    assert [node.id for node in drawing.nodes] == ["a", "b"]
    assert [edge.id for edge in drawing.edges] == ["f"]
    assert layout("not a document").nodes == []
    assert "wf-node node-unknown" in render_svg(drawing)


def test_the_same_document_draws_the_same_bytes() -> None:
    document = samples.load_fixture(samples.fixture_names()[0])
    assert _analysed(document) == _analysed(samples.load_fixture(samples.fixture_names()[0]))


def test_a_few_hundred_nodes_draw_quickly() -> None:
    count = 400
    nodes = [samples.node(f"n{index}") for index in range(count)]
    edges = [samples.edge(f"e{index}", f"n{index}", f"n{index + 1}") for index in range(count - 1)]
    edges += [samples.edge(f"s{index}", f"n{index}", f"n{index + 7}") for index in range(0, count - 7, 3)]
    edges.append(samples.edge("back", f"n{count - 1}", "n0"))
    document = samples.workflow(nodes, edges)
    findings = validate_workflow(document, known_workflow_ids=()).findings
    started = time.perf_counter()
    svg = render_svg(layout(document, findings), node_url=lambda node_id: f"/n/{node_id}/")
    elapsed = time.perf_counter() - started
    assert svg.count('class="wf-node ') == count
    assert elapsed < 0.5, f"{count} nodes took {elapsed:.3f}s"
