"""Reading raw documents: JSON text, bytes or data in, a workflow or findings out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.workflows.samples import edge, load_fixture, node, workflow
from workflows.dsl.document_types import RawDocument
from workflows.dsl.documents import parse_workflow


def test_it_reads_json_text_bytes_and_decoded_data_alike() -> None:
    document = load_fixture("linear")
    text = json.dumps(document)
    results = [parse_workflow(value).workflow for value in (document, text, text.encode())]
    assert results[0] is not None
    assert results[0] == results[1] == results[2]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "the document is not JSON: Expecting property name"),
        (b"\xff\xfe", "the document is not UTF-8 text"),
        ('{"version": NaN}', "NaN is not a JSON number"),
        ('{"version": 1e999}', "out of range"),
        ("[1, 2]", "a workflow document must be a JSON object"),
        (42, "a workflow document must be a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_unreadable_documents_become_findings(raw: RawDocument, message: str) -> None:
    parsed = parse_workflow(raw)
    assert parsed.workflow is None
    [finding] = parsed.findings
    assert finding.code == "invalid_document"
    assert message in finding.message


def test_json_syntax_errors_carry_the_position() -> None:
    [finding] = parse_workflow('{"name": }').findings
    assert finding.position == 9


def test_a_wrong_value_in_a_node_config_points_at_it() -> None:
    document = workflow([node("summarise", "ai_action", temperature="hot")])
    [finding] = parse_workflow(document).findings
    assert finding.code == "invalid_node"
    assert finding.node_id == "summarise"
    # Pydantic's location names the union tag (`ai_action`); the document has no such level.
    assert finding.path == ("nodes", 0, "config", "temperature")
    assert finding.message == "nodes[0].config.temperature: Input should be a valid number"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"version": "3"}, ("version",)),
        ({"version": 1.0}, ("version",)),
        ({"version": -1}, ("version",)),
        ({"id": "not-a-uuid"}, ("id",)),
        ({"name": None}, ("name",)),
        (
            {"error_policy": {"on_error": "explode", "compensation_workflow_id": None}},
            ("error_policy", "on_error"),
        ),
    ],
)
def test_values_are_checked_strictly_like_serde(change: dict[str, Any], path: tuple[str, ...]) -> None:
    [finding] = parse_workflow({**workflow([node("a")]), **change}).findings
    assert finding.code == "invalid_document"
    assert finding.path == path


def test_a_wrong_edge_is_an_invalid_edge() -> None:
    document = workflow([node("a"), node("b")], [{**edge("e1", "a", "b"), "source": 7}])
    [finding] = parse_workflow(document).findings
    assert (finding.code, finding.edge_id, finding.path) == ("invalid_edge", "e1", ("edges", 0, "source"))


def test_an_unknown_node_type_is_an_invalid_node() -> None:
    bad = node("a")
    bad["config"]["type"] = "teleport"
    [finding] = parse_workflow(workflow([bad])).findings
    assert finding.code == "invalid_node"
    assert "does not match any of the expected tags" in finding.message


def test_unknown_fields_are_dropped_with_a_warning() -> None:
    extended = node("a")
    extended["data"] = {"selected": True}
    extended["config"]["colour"] = "red"
    parsed = parse_workflow({**workflow([extended]), "editor": {"zoom": 2}})
    assert parsed.workflow is not None
    assert sorted(finding.path for finding in parsed.findings if finding.path) == [
        ("editor",),
        ("nodes", 0, "config", "colour"),
        ("nodes", 0, "data"),
    ]
    assert {finding.severity for finding in parsed.findings} == {"warning"}
    assert {finding.code for finding in parsed.findings} == {"unknown_field"}


def test_unknown_fields_and_real_errors_are_reported_together() -> None:
    extended = node("a", timeout_seconds="soon")
    extended["data"] = {}
    parsed = parse_workflow(workflow([extended]))
    assert parsed.workflow is None
    assert sorted((f.severity, f.code) for f in parsed.findings) == [
        ("error", "invalid_node"),
        ("warning", "unknown_field"),
    ]


def test_missing_required_fields_are_reported_with_their_path() -> None:
    document = workflow([node("a")])
    del document["nodes"][0]["config"]["input_mapping"]
    del document["triggers"]
    paths = sorted(finding.path for finding in parse_workflow(document).findings if finding.path)
    assert paths == [("nodes", 0, "config", "input_mapping"), ("triggers",)]
