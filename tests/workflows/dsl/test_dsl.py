"""The DSL models: the original compiler's JSON shape, and the exported JSON Schema."""

from __future__ import annotations

from typing import Any

from providers.kinds.json_schema_grammar import gbnf_for
from tests.workflows.samples import load_fixture, node, workflow
from workflows.dsl.documents import parse_workflow
from workflows.dsl.models import NODE_TYPES, ActivityConfig, WorkflowDSL, workflow_json_schema


def subset(expected: Any, actual: Any) -> bool:
    """Whether every key and value of `expected` is in `actual` (lists item by item)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and subset(v, actual[key]) for key, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list) and len(expected) == len(actual) and all(map(subset, expected, actual))
        )
    return bool(expected == actual)


def test_it_reads_a_document_written_for_the_original_compiler() -> None:
    document = load_fixture("order_approval")
    parsed = parse_workflow(document)
    assert parsed.findings == []
    assert isinstance(parsed.workflow, WorkflowDSL)
    first = parsed.workflow.nodes[0]
    assert first.node_type == "activity"
    assert isinstance(first.config, ActivityConfig)
    assert first.config.activity_name == "ValidateOrder"


def test_it_writes_the_original_compilers_json_shape() -> None:
    document = load_fixture("order_approval")
    workflow_model = WorkflowDSL.model_validate(document)
    dumped = workflow_model.model_dump(mode="json")
    # Everything the original wrote comes back unchanged; our one addition is the
    # optional `condition_expression` of wait nodes, written as null.
    assert subset(document, dumped)
    assert dumped["nodes"][6]["config"] == {**document["nodes"][6]["config"], "condition_expression": None}
    assert WorkflowDSL.model_validate(dumped) == workflow_model


def test_optional_fields_may_be_left_out_as_with_serde() -> None:
    minimal = workflow(
        [
            {
                "id": "a",
                "node_type": "wait",
                "label": "A",
                "position": {"x": 0, "y": 0},
                "config": {"type": "wait", "wait_type": "timer", "duration_seconds": 5},
            }
        ]
    )
    parsed = parse_workflow(minimal)
    assert parsed.findings == []
    assert parsed.workflow is not None
    assert parsed.workflow.nodes[0].retry_policy is None


def test_the_schema_describes_the_document() -> None:
    schema = workflow_json_schema()
    assert schema["title"] == "WorkflowDSL"
    assert set(schema["required"]) == {
        "id",
        "name",
        "tenant_id",
        "version",
        "nodes",
        "edges",
        "variables",
        "triggers",
        "error_policy",
    }
    assert schema["additionalProperties"] is False
    config = schema["$defs"]["WorkflowNode"]["properties"]["config"]
    assert config["discriminator"]["propertyName"] == "type"
    assert sorted(config["discriminator"]["mapping"]) == sorted(NODE_TYPES)
    node_types = schema["$defs"]["WorkflowNode"]["properties"]["node_type"]["enum"]
    assert node_types == list(NODE_TYPES)
    assert schema["$defs"]["AiActionConfig"]["properties"]["provider"]["enum"] == [
        "anthropic",
        "openai",
        "google",
        "local",
    ]
    assert schema["$defs"]["ErrorHandlingPolicy"]["properties"]["on_error"]["enum"] == [
        "fail",
        "compensate",
        "ignore",
        "retry",
    ]


def test_the_schema_is_a_fresh_copy_each_time() -> None:
    schema = workflow_json_schema()
    schema["title"] = "changed"
    assert workflow_json_schema()["title"] == "WorkflowDSL"


def test_the_node_builder_makes_valid_nodes_of_every_type() -> None:
    parsed = parse_workflow(workflow([node(f"n_{kind}", kind) for kind in NODE_TYPES]))
    assert parsed.findings == []


def test_the_schema_can_constrain_the_embedded_model() -> None:
    """Offline generation sends this schema to llama.cpp, whose converter must take it."""
    assert "root ::=" in gbnf_for(workflow_json_schema())
