"""The editor's graph: layered layout, cycles drawn, findings marked, output escaped and stable."""

from __future__ import annotations

import html
import itertools
import re
import time
from typing import NamedTuple

from tests.workflows import samples
from workflows.analysis.validation import validate_workflow
from workflows.dsl.document_types import WorkflowDocument
from workflows.editor.drawing import NODE_HEIGHT, layout
from workflows.editor.graph_svg import render_svg
from workflows.editor.label_lines import text_width

# Where the label starts and its size, as static/css/app.css and graph_svg draw it.
LABEL_LEFT = 12
LABEL_FONT_SIZE = 13


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


LONG_LABEL = "Send the order confirmation e-mail to the customer and to the warehouse team"
WIDE_LABEL = "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"  # one word, wider than any box


class DrawnNode(NamedTuple):
    """A node as the SVG draws it: its box and its label's lines with their baselines."""

    x: float
    y: float
    width: float
    height: float
    lines: list[tuple[float, str]]

    def extent(self) -> tuple[float, float, float, float]:
        """Left, top, right, bottom of everything the node draws: its box and its label."""
        right, bottom = self.x + self.width, self.y + self.height
        for baseline, text in self.lines:
            right = max(right, self.x + LABEL_LEFT + text_width(text, LABEL_FONT_SIZE))
            bottom = max(bottom, self.y + baseline + 4)
        return self.x, self.y, right, bottom


def _drawn_nodes(svg: str) -> dict[str, DrawnNode]:
    drawn: dict[str, DrawnNode] = {}
    for node_id, x, y, body in re.findall(
        r'data-testid="node-([^"]+)"[^>]*transform="translate\(([\d.]+),([\d.]+)\)"[^>]*>(.*?)</g>', svg, re.S
    ):
        rect = re.search(r'<rect width="([\d.]+)" height="([\d.]+)"', body)
        assert rect is not None
        label = re.search(r'<text class="node-label"[^>]*>(.*?)</text>', body)
        assert label is not None
        tspans = re.findall(r'<tspan x="[\d.]+" y="([\d.]+)">([^<]*)</tspan>', label.group(1))
        lines = [(float(baseline), html.unescape(text)) for baseline, text in tspans]
        if not tspans:  # one line, straight in the text element
            baseline = re.search(r'y="([\d.]+)"', label.group(0))
            lines = [(float(baseline.group(1)) if baseline else 24.0, html.unescape(label.group(1)))]
        drawn[node_id] = DrawnNode(float(x), float(y), float(rect.group(1)), float(rect.group(2)), lines)
    return drawn


def _overlapping(drawn: dict[str, DrawnNode]) -> list[tuple[str, str]]:
    extents = {node_id: node.extent() for node_id, node in drawn.items()}
    return [
        (first, second)
        for first, second in itertools.combinations(sorted(extents), 2)
        if extents[first][0] < extents[second][2]
        and extents[second][0] < extents[first][2]
        and extents[first][1] < extents[second][3]
        and extents[second][1] < extents[first][3]
    ]


def test_a_long_label_is_wrapped_onto_lines_inside_its_box_not_cut() -> None:
    start = samples.node("start")
    start["label"] = LONG_LABEL
    wide = samples.node("wide")
    wide["label"] = WIDE_LABEL
    document = samples.workflow(
        [start, wide, samples.node("finish")], samples.chain("start", "wide", "finish")
    )
    drawn = _drawn_nodes(_analysed(document))

    lines = [text for _, text in drawn["start"].lines]
    assert len(lines) >= 3
    assert " ".join(lines) == LONG_LABEL, "every word is drawn"
    assert "".join(text for _, text in drawn["wide"].lines) == WIDE_LABEL
    for node_id in ("start", "wide"):
        node = drawn[node_id]
        _left, _top, right, bottom = node.extent()
        assert right <= node.x + node.width, f"{node_id}'s label leaves its box"
        assert bottom <= node.y + node.height, f"{node_id}'s label leaves its box"
    assert drawn["start"].height > drawn["finish"].height, "a box is as tall as its label"


def test_no_two_nodes_overlap_with_long_labels_and_after_adding_nodes() -> None:
    nodes = [samples.node(name) for name in ("start", "left", "middle", "right", "join")]
    for node in nodes[1:4]:
        node["label"] = f"{node['id']}: {LONG_LABEL}"
    nodes[2]["label"] = WIDE_LABEL * 2
    edges = [
        samples.edge("a", "start", "left"),
        samples.edge("b", "start", "middle"),
        samples.edge("c", "start", "right"),
        samples.edge("d", "left", "join"),
        samples.edge("e", "middle", "join"),
        samples.edge("f", "right", "join"),
        samples.edge("g", "start", "join"),
    ]
    document = samples.workflow(nodes, edges)
    assert _overlapping(_drawn_nodes(_analysed(document))) == []

    # Nodes added later, unconnected (as the editor adds them) and with long labels, go
    # beside the others without covering any.
    for index in range(4):
        added = samples.node(f"added{index}")
        added["label"] = LONG_LABEL[: 20 + index * 15]
        document["nodes"].append(added)
    document["edges"].append(samples.edge("h", "added0", "start"))
    drawn = _drawn_nodes(_analysed(document))
    assert len(drawn) == 9
    assert _overlapping(drawn) == []
