"""Findings in the editor's words: every code explained, ids replaced by labels, advice given."""

from __future__ import annotations

import pytest

from tests.workflows import samples
from workflows.analysis.validation import validate_workflow
from workflows.dsl import findings as codes
from workflows.dsl.findings import Finding, error, warning
from workflows.editor.finding_words import Names, explain, node_of

CODES = sorted(
    value
    for name, value in vars(codes).items()
    if name.isupper() and isinstance(value, str) and name != "Severity"
)
NAMES = Names(
    nodes={"start": "Receive order", "stray": "Send receipt", "route": "Big order?"},
    edges={"e1": ("start", "route")},
    entry="start",
    field_label=lambda node_id, inside: "Activity name" if inside == ("config", "activity_name") else None,
)


def test_the_codes_are_the_ones_the_analysis_has() -> None:
    assert {"cyclic_graph", "unreachable_node", "invalid_node", "missing_timeout"} <= set(CODES)


@pytest.mark.parametrize("code", CODES)
def test_every_code_has_a_headline_in_words(code: str) -> None:
    finding = Finding(severity="error", code=code, message="node 'route': something", node_id="route")
    words = explain(finding, NAMES, "route")
    assert words.headline
    assert code not in words.headline
    assert "_" not in words.headline
    assert "'route'" not in f"{words.headline} {words.detail} {words.advice}", "ids are named by their labels"


def test_an_unreachable_node_says_what_to_do_with_the_start_named() -> None:
    # `stray` has an edge in, from a loop that nothing the workflow starts with leads to.
    document = samples.workflow(
        [samples.node("start"), samples.node("finish"), samples.node("loop"), samples.node("stray")],
        [
            *samples.chain("start", "finish"),
            *samples.chain("loop", "stray"),
            samples.edge("back", "stray", "loop"),
        ],
    )
    analysis = validate_workflow(document, known_workflow_ids=())
    finding = next(
        finding
        for finding in analysis.findings
        if finding.node_id == "stray" and finding.code == codes.UNREACHABLE_NODE
    )
    assert "connect it from 'start' or a node after it, or remove it" in finding.message
    names = Names({"start": "Receive order", "finish": "Finish", "stray": "Send receipt"}, {}, "start")
    words = explain(finding, names, "stray")
    assert words.headline == "“Send receipt” is never reached"
    assert words.detail == (
        "Every edge into it comes from a loop, or from steps that are never reached: "
        "nothing the workflow starts with leads to it."
    )
    assert words.advice == "Connect it from “Receive order” or a step after it, or remove it."


def test_a_node_without_edges_is_said_to_run_on_its_own() -> None:
    document = samples.workflow(
        [samples.node("start"), samples.node("finish"), samples.node("stray")],
        samples.chain("start", "finish"),
    )
    analysis = validate_workflow(document, known_workflow_ids=())
    assert analysis.errors == [], "a node without edges is one more entry node, not an error"
    finding = next(finding for finding in analysis.findings if finding.code == codes.ISOLATED_NODE)
    names = Names({"start": "Receive order", "finish": "Finish", "stray": "Send receipt"}, {}, "start")
    words = explain(finding, names, "stray")
    assert words.headline == "“Send receipt” is not connected"
    assert "runs on its own as soon as the workflow starts" in words.detail
    assert words.advice == (
        "If it belongs in the flow, connect it from “Receive order” or a step after it; otherwise remove it."
    )


def test_a_loop_is_named_node_by_node() -> None:
    finding = error(
        codes.CYCLIC_GRAPH,
        "the workflow loops: 'start' -> 'route' -> 'start'",
        path=("start", "route", "start"),
    )
    words = explain(finding, NAMES)
    assert words.detail == "“Receive order” → “Big order?” → “Receive order”"
    assert "remove or redirect one of the edges" in words.advice


def test_a_field_is_named_by_its_form_label_and_an_edge_by_its_ends() -> None:
    field = error(
        codes.INVALID_NODE,
        "node 'start': activity_name is required",
        node_id="start",
        path=("nodes", 0, "config", "activity_name"),
    )
    assert explain(field, NAMES, "start") == explain(field, NAMES, node_of(field, NAMES.nodes, ["start"]))
    words = explain(field, NAMES, "start")
    assert words.headline == "“Receive order” is not set up right"
    assert words.detail == "“Activity name” is required"

    edge = error(codes.INVALID_EDGE, "edge 'e1' from decision node 'route': no branch", edge_id="e1")
    words = explain(edge, NAMES)
    assert words.headline == "The edge from “Receive order” to “Big order?” cannot be used as it is"
    assert words.detail == "From decision node “Big order?”: no branch"


def test_a_finding_found_by_its_path_is_about_the_node_there() -> None:
    finding = warning(
        codes.UNKNOWN_FIELD, "nodes[1].colour: unknown field, ignored", path=("nodes", 1, "colour")
    )
    assert node_of(finding, NAMES.nodes, ["start", "route"]) == "route"
    assert node_of(finding, NAMES.nodes, ["start"]) is None
