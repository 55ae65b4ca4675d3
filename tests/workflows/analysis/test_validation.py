"""Validation: one test (or more) per finding code, through `validate_workflow`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows.samples import (
    KNOWN_WORKFLOW_IDS,
    WORKFLOW_ID,
    chain,
    edge,
    fixture_names,
    load_fixture,
    node,
    variable,
    workflow,
)
from workflows.analysis.regions import ENTRY_BLOCK
from workflows.analysis.validation import validate_workflow
from workflows.dsl.document_types import RawDocument, WorkflowDocument
from workflows.dsl.findings import Finding


def findings_of(document: RawDocument, known: Any = KNOWN_WORKFLOW_IDS) -> list[Finding]:
    """All findings for a document."""
    return validate_workflow(document, known_workflow_ids=known).findings


def codes(document: RawDocument, severity: str = "error") -> list[str]:
    """The codes of the findings of one severity."""
    return [finding.code for finding in findings_of(document) if finding.severity == severity]


def only(document: RawDocument, code: str) -> Finding:
    """The one finding with `code` (failing if there are none or several)."""
    matching = [finding for finding in findings_of(document) if finding.code == code]
    assert len(matching) == 1, matching
    return matching[0]


@pytest.mark.parametrize("name", fixture_names())
def test_it_finds_no_errors_in_the_fixtures(name: str) -> None:
    assert codes(load_fixture(name)) == []


def test_it_reports_a_cycle_with_its_path() -> None:
    document = workflow(
        [node("start"), node("a"), node("b"), node("c")],
        [*chain("start", "a", "b", "c"), edge("back", "c", "a")],
    )
    finding = only(document, "cyclic_graph")
    assert finding.path == ("a", "b", "c", "a")
    assert finding.node_id == "a"
    assert "'a' -> 'b' -> 'c' -> 'a'" in finding.message


def test_it_reports_each_separate_cycle() -> None:
    document = workflow(
        [node(name) for name in ("s", "a", "b", "c", "d")],
        [*chain("s", "a", "b"), edge("ba", "b", "a"), *chain("s", "c", "d"), edge("dc", "d", "c")],
    )
    paths = [finding.path for finding in findings_of(document) if finding.code == "cyclic_graph"]
    assert paths == [("a", "b", "a"), ("c", "d", "c")]


def test_a_workflow_that_is_all_cycle_has_no_entry_node() -> None:
    document = workflow([node("a"), node("b")], [*chain("a", "b"), edge("ba", "b", "a")])
    assert sorted(codes(document)) == ["cyclic_graph", "no_entry_node"]


def test_an_empty_workflow_has_no_entry_node() -> None:
    assert codes(workflow([])) == ["no_entry_node"]


@pytest.mark.parametrize(
    ("bad_edge", "reason"),
    [
        (edge("x", "ghost", "a"), "source node 'ghost' does not exist"),
        (edge("x", "a", "ghost"), "target node 'ghost' does not exist"),
        (edge("x", "a", "a"), "connects node 'a' to itself"),
        (edge("x", "a", "b"), "duplicates edge 'e_a_b'"),
    ],
)
def test_it_rejects_bad_edges(bad_edge: dict[str, Any], reason: str) -> None:
    document = workflow([node("a"), node("b")], [*chain("a", "b"), bad_edge])
    finding = only(document, "invalid_edge")
    assert finding.edge_id == "x"
    assert finding.path == ("edges", 1)
    assert reason in finding.message


def test_edges_from_different_handles_to_the_same_node_are_not_duplicates() -> None:
    decision = node(
        "d", "decision", branches=[{"id": "yes", "condition": "true", "label": "Yes"}], default_branch="no"
    )
    document = workflow(
        [decision, node("t")], [edge("e1", "d", "t", handle="yes"), edge("e2", "d", "t", handle="no")]
    )
    assert codes(document) == []


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (workflow([node("a"), node("a")]), "node id 'a'"),
        (
            workflow([node("a"), node("b")], [edge("e", "a", "b"), edge("e", "a", "b", handle="h")]),
            "edge id 'e'",
        ),
        (workflow([node("a")], variables=[variable("v"), variable("v")]), "variable 'v'"),
    ],
)
def test_it_rejects_duplicate_ids(document: WorkflowDocument, field: str) -> None:
    assert field in only(document, "duplicate_id").message


def test_decision_branch_ids_must_be_unique() -> None:
    branches = [
        {"id": "x", "condition": "true", "label": "A"},
        {"id": "x", "condition": "false", "label": "B"},
    ]
    document = workflow(
        [node("d", "decision", branches=branches), node("a"), node("b")],
        [edge("e1", "d", "a", handle="x"), edge("e2", "d", "b", condition="false")],
    )
    assert "branch id 'x' is used twice" in " ".join(f.message for f in findings_of(document))


def test_several_entry_nodes_all_start_the_workflow() -> None:
    document = workflow(
        [node("a"), node("b"), node("other"), node("after_other")],
        [*chain("a", "b"), *chain("other", "after_other")],
    )
    analysis = validate_workflow(document, known_workflow_ids=KNOWN_WORKFLOW_IDS)
    assert analysis.findings == []
    assert analysis.graph is not None
    assert analysis.graph.entries == ["a", "other"]
    assert analysis.graph.entry == "a"
    assert analysis.graph.order == ["a", "b", "other", "after_other"]
    # They start together, as the branches of one block that runs to the end of the workflow.
    block = analysis.layout.blocks[ENTRY_BLOCK]
    assert (block.branches, block.join, block.wait_for_all) == (
        (("a", "b"), ("other", "after_other")),
        None,
        True,
    )


def test_entries_whose_branches_cross_run_in_one_sequence() -> None:
    # Both entries lead to `x` and to `y`: no block can hold them, so there is none, and the
    # two entries are simply the first nodes of the workflow's own sequence.
    document = workflow(
        [node("a"), node("b"), node("x"), node("y")],
        [edge("ax", "a", "x"), edge("bx", "b", "x"), edge("ay", "a", "y"), edge("by", "b", "y")],
    )
    analysis = validate_workflow(document, known_workflow_ids=KNOWN_WORKFLOW_IDS)
    assert analysis.errors == []
    assert analysis.layout.blocks == {}
    assert analysis.layout.owner == {}


def test_a_node_entered_only_from_a_loop_nothing_reaches_is_reported() -> None:
    # `after_loop` has an edge in, so it is no entry; the loop it hangs off is never reached.
    document = workflow(
        [node("a"), node("b"), node("x"), node("y"), node("after_loop")],
        [*chain("a", "b"), *chain("x", "y"), edge("back", "y", "x"), edge("out", "y", "after_loop")],
    )
    unreachable = [f for f in findings_of(document) if f.code == "unreachable_node"]
    assert [(f.node_id, f.path) for f in unreachable] == [
        ("x", ("nodes", 2)),
        ("y", ("nodes", 3)),
        ("after_loop", ("nodes", 4)),
    ]
    assert "cannot be reached from any entry node" in unreachable[2].message
    assert "connect it from 'a' or a node after it, or remove it" in unreachable[2].message
    assert "cyclic_graph" in codes(document)


def test_a_node_without_edges_beside_a_flow_is_a_warning_naming_where_to_connect_it() -> None:
    document = workflow([node("stray"), node("a"), node("b"), node("c")], chain("a", "b", "c"))
    assert codes(document) == []
    finding = only(document, "isolated_node")
    assert finding.severity == "warning"
    assert finding.node_id == "stray"
    assert "connect it from 'a'" in finding.message
    assert codes(workflow([node("alone")], [])) == []
    assert codes(workflow([node("alone")], []), "warning") == [], "a one-node workflow is not isolated"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            workflow([node("d", "decision"), node("a")], [edge("e", "d", "a")]),
            "needs at least 2 outgoing edges",
        ),
        (
            workflow(
                [node("d", "decision", default_branch="nowhere"), node("a"), node("b")],
                [edge("e1", "d", "a", condition="true"), edge("e2", "d", "b", condition="false")],
            ),
            "default_branch 'nowhere'",
        ),
        (workflow([node("p", "parallel")]), "needs at least one branch"),
        (
            workflow([node("p", "parallel", branches=["a", "zzz"]), node("a")], [edge("e", "p", "a")]),
            "branch 'zzz' is not the target of one of its edges",
        ),
        (workflow([node("w", "wait", duration_seconds=None)]), "a timer wait needs duration_seconds"),
        (workflow([node("w", "wait", wait_type="signal", duration_seconds=None)]), "signal_name is required"),
        (
            workflow([node("w", "wait", wait_type="condition", signal_name="s")]),
            "condition_expression is required",
        ),
        (workflow([node("a", activity_name=" ")]), "activity_name is required"),
        (workflow([node("a", "ai_action", prompt_template="")]), "prompt_template is required"),
        (workflow([node("a", "ai_action", temperature=2.5)]), "temperature must be between 0 and 2"),
        (workflow([node("a", "ai_action", max_tokens=0)]), "max_tokens must be between 1"),
        (workflow([node("a", "n8n", workflow_id="")]), "workflow_id is required"),
        (workflow([node("a", "human_task", title="")]), "title is required"),
        (workflow([node("a", timeout_seconds=0)]), "timeout_seconds must be between 1 and"),
        (workflow([node("a", timeout_seconds=10**12)]), "timeout_seconds must be between 1 and"),
        (workflow([node("a", output_variable="not valid")]), "output_variable 'not valid'"),
        (
            workflow([{**node("a"), "node_type": "wait"}]),
            "node_type 'wait' does not match config type 'activity'",
        ),
    ],
)
def test_it_rejects_bad_node_configurations(document: WorkflowDocument, message: str) -> None:
    errors = [f for f in findings_of(document) if f.severity == "error"]
    assert [f.code for f in errors] == ["invalid_node"], errors
    assert message in errors[0].message


def test_decision_branches_must_match_edges() -> None:
    document = workflow(
        [
            node("d", "decision", branches=[{"id": "big", "condition": "amount > 5", "label": "Big"}]),
            node("a"),
            node("b"),
        ],
        [edge("e1", "d", "a", condition="amount > 6"), edge("e2", "d", "b")],
        [variable("amount", "number")],
    )
    branch = only(document, "invalid_node")
    assert "branch 'big' ('amount > 5') matches no outgoing edge" in branch.message
    assert branch.path == ("nodes", 0, "config", "branches", 0, "condition")
    stray_edge = only(document, "invalid_edge")
    assert stray_edge.edge_id == "e1"
    assert "its condition matches none of the decision's branches" in stray_edge.message


def test_a_decision_matches_branches_by_condition_like_the_original() -> None:
    document = workflow(
        [
            node("d", "decision", branches=[{"id": "big", "condition": "amount > 5", "label": "Big"}]),
            node("a"),
            node("b"),
        ],
        [edge("e1", "d", "a", condition="amount > 5"), edge("e2", "d", "b")],
        [variable("amount", "number")],
    )
    assert codes(document) == []


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"max_attempts": 2**31}, "max_attempts must be at most"),
        ({"initial_interval_ms": 0}, "initial_interval_ms must be between 1"),
        ({"max_interval_ms": 10, "initial_interval_ms": 100}, "must not be below initial_interval_ms"),
        ({"backoff_coefficient": 0.5}, "backoff_coefficient must be at least 1"),
    ],
)
def test_it_rejects_retry_values_out_of_range(policy: dict[str, Any], message: str) -> None:
    retry = {
        "max_attempts": 3,
        "initial_interval_ms": 100,
        "backoff_coefficient": 2.0,
        "max_interval_ms": 1000,
    }
    finding = only(workflow([node("a", retry_policy={**retry, **policy})]), "invalid_node")
    assert message in finding.message
    assert finding.path is not None
    assert finding.path[:3] == ("nodes", 0, "retry_policy")


def test_condition_syntax_errors_point_at_the_position() -> None:
    document = workflow(
        [node("a"), node("b"), node("c")],
        [edge("e1", "a", "b", condition="x >= 1 &&"), edge("e2", "a", "c")],
        [variable("x", "number")],
    )
    finding = only(document, "invalid_edge")
    assert finding.edge_id == "e1"
    assert finding.path == ("edges", 0, "condition", "expression")
    assert finding.position == 9
    assert "expected a value" in finding.message


def test_template_syntax_errors_are_invalid_nodes_with_the_position() -> None:
    document = workflow([node("a", "ai_action", prompt_template="Hi {{ first name }}")])
    finding = only(document, "invalid_node")
    assert finding.path == ("nodes", 0, "config", "prompt_template")
    assert finding.position == 3


def test_a_variable_set_on_one_branch_is_undefined_after_the_join() -> None:
    branches = [{"id": "big", "condition": "amount > 100", "label": "Big"}]
    document = workflow(
        [
            node("check", "decision", branches=branches, default_branch="small"),
            node("discount", output_variable="discount"),
            node("small"),
            node("invoice", input_mapping={"discount": "{{discount}}", "amount": "{{amount}}"}),
        ],
        [
            edge("e1", "check", "discount", handle="big"),
            edge("e2", "check", "small", handle="small"),
            *chain("discount", "invoice"),
            *chain("small", "invoice"),
        ],
        [variable("amount", "number")],
    )
    finding = only(document, "undefined_variable")
    assert finding.node_id == "invoice"
    assert finding.path == ("nodes", 3, "config", "input_mapping", "discount")
    assert "{{discount}} is not set on every path to it (it is set by node 'discount')" in finding.message


def test_a_variable_set_on_every_branch_is_defined_after_the_join() -> None:
    document = workflow(
        [
            node("check", "decision", branches=[{"id": "big", "condition": "amount > 100", "label": "B"}]),
            node("discount", output_variable="discount"),
            node("no_discount", output_variable="discount"),
            node("invoice", input_mapping={"discount": "{{discount.rate}}"}),
        ],
        [
            edge("e1", "check", "discount", handle="big"),
            edge("e2", "check", "no_discount"),
            *chain("discount", "invoice"),
            *chain("no_discount", "invoice"),
        ],
        [variable("amount", "number")],
    )
    assert codes(document) == []


def test_a_node_cannot_read_its_own_output() -> None:
    document = workflow([node("a", output_variable="x", input_mapping={"x": "{{x}}"})])
    assert only(document, "undefined_variable").node_id == "a"


def test_undeclared_names_are_undefined_everywhere() -> None:
    document = workflow([node("a"), node("b")], [edge("e", "a", "b", condition="ghost.flag == true")])
    finding = only(document, "undefined_variable")
    assert finding.edge_id == "e"
    assert "neither a declared variable nor any node's output_variable" in finding.message
    assert finding.position == 0


def test_an_edge_condition_may_read_its_source_nodes_output() -> None:
    document = workflow(
        [node("a", output_variable="result"), node("b")], [edge("e", "a", "b", condition="result.ok")]
    )
    assert codes(document) == []


def parallel_document(*, wait_for_all: bool) -> WorkflowDocument:
    """Two branches each setting a variable, and a join reading both."""
    return workflow(
        [
            node("fork", "parallel", branches=["left", "right"], wait_for_all=wait_for_all),
            node("left", output_variable="left_result"),
            node("right", output_variable="right_result"),
            node("join", input_mapping={"both": "{{left_result}} {{right_result}}"}),
        ],
        [
            edge("e1", "fork", "left"),
            edge("e2", "fork", "right"),
            *chain("left", "join"),
            *chain("right", "join"),
        ],
    )


def test_after_waiting_for_all_branches_every_branch_output_is_defined() -> None:
    assert codes(parallel_document(wait_for_all=True)) == []


def test_after_a_race_only_what_every_branch_sets_is_defined() -> None:
    undefined = [
        f for f in findings_of(parallel_document(wait_for_all=False)) if f.code == "undefined_variable"
    ]
    assert len(undefined) == 2


def test_parallel_branches_must_not_meet_before_the_join() -> None:
    document = workflow(
        [
            node("fork", "parallel", branches=["a", "b"]),
            node("a"),
            node("b"),
            node("shared"),
            node("a2"),
            node("join"),
        ],
        [
            edge("e1", "fork", "a"),
            edge("e2", "fork", "b"),
            *chain("a", "shared"),
            *chain("b", "shared"),
            *chain("shared", "join"),
            *chain("a", "a2"),
            *chain("a2", "join"),
        ],
    )
    finding = only(document, "invalid_node")
    assert finding.node_id == "fork"
    assert "both lead to node 'shared'" in finding.message


def test_parallel_branches_must_not_be_entered_from_outside() -> None:
    document = workflow(
        [node("start"), node("fork", "parallel", branches=["a", "b"]), node("a"), node("b"), node("join")],
        [
            edge("s1", "start", "fork"),
            edge("s2", "start", "b"),
            edge("e1", "fork", "a"),
            edge("e2", "fork", "b"),
            *chain("a", "join"),
            *chain("b", "join"),
        ],
    )
    assert "is also entered from node 'start'" in only(document, "invalid_node").message


def test_parallel_edges_must_lead_to_branches_without_conditions() -> None:
    document = workflow(
        [node("fork", "parallel", branches=["a"]), node("a"), node("b")],
        [edge("e1", "fork", "a", condition="true"), edge("e2", "fork", "b")],
    )
    messages = [f.message for f in findings_of(document) if f.code == "invalid_edge"]
    assert len(messages) == 2
    assert "cannot have a condition" in messages[0]
    assert "which is not one of its branches" in messages[1]


def test_subflows_must_be_workflows_of_the_tenant() -> None:
    document = workflow([node("sub", "subflow", workflow_id="foreign-workflow")])
    finding = only(document, "unknown_subflow")
    assert finding.path == ("nodes", 0, "config", "workflow_id")
    assert validate_workflow(document, known_workflow_ids=lambda wid: wid == "foreign-workflow").is_valid


def test_the_compensation_workflow_must_be_a_workflow_of_the_tenant() -> None:
    document = workflow(
        [node("a")],
        error_policy={
            "on_error": "compensate",
            "compensation_workflow_id": "elsewhere",
            "notification_channel": None,
        },
    )
    assert only(document, "unknown_subflow").path == ("error_policy", "compensation_workflow_id")


def nested(depth: int) -> dict[str, Any]:
    """A JSON object nested `depth` levels deep."""
    value: dict[str, Any] = {"level": 1}
    for _ in range(depth - 1):
        value = {"level": value}
    return value


def test_variable_names_and_defaults_are_checked() -> None:
    document = workflow(
        [node("a", input_mapping={"x": "{{ok}} {{count}} {{deep}} {{tags}}"})],
        variables=[
            variable("ok"),
            variable("not-a-name"),
            variable("count", "number", default_value="seven"),
            variable("deep", "object", default_value=nested(40)),
            variable("tags", "array", default_value=[1, True, None]),
        ],
    )
    messages = [f.message for f in findings_of(document) if f.code == "invalid_variable"]
    assert len(messages) == 3
    assert "variable name 'not-a-name'" in messages[0]
    assert "default_value must be a number" in messages[1]
    assert "nested more than 32 levels deep" in messages[2]


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (workflow([node("a")], variables=[variable("unused")]), "unused_variable"),
        (
            workflow(
                [node("d", "decision"), node("a"), node("b")],
                [edge("e1", "d", "a", condition="true"), edge("e2", "d", "b", condition="false")],
            ),
            "no_default_branch",
        ),
        (workflow([node("a", timeout_seconds=None)]), "missing_timeout"),
        (
            workflow([node("p", "parallel", branches=["a"]), node("a")], [edge("e", "p", "a")]),
            "single_branch_parallel",
        ),
        (
            workflow(
                [
                    node(
                        "a",
                        retry_policy={
                            "max_attempts": 0,
                            "initial_interval_ms": 1,
                            "backoff_coefficient": 1.0,
                            "max_interval_ms": 1,
                        },
                    )
                ]
            ),
            "unlimited_retries",
        ),
        (
            workflow(
                [node("a")],
                error_policy={
                    "on_error": "compensate",
                    "compensation_workflow_id": None,
                    "notification_channel": None,
                },
            ),
            "no_compensation_workflow",
        ),
        (workflow([node("a", "subflow", workflow_id=WORKFLOW_ID)]), "recursive_subflow"),
        (workflow([{**node("a"), "colour": "red"}]), "unknown_field"),
    ],
)
def test_it_warns_about_what_compiles_but_looks_wrong(document: WorkflowDocument, code: str) -> None:
    analysis = validate_workflow(document, known_workflow_ids=KNOWN_WORKFLOW_IDS)
    assert analysis.is_valid
    assert [f.code for f in analysis.warnings] == [code]


def test_findings_serialise_without_empty_fields() -> None:
    document = workflow([node("a")], [edge("x", "a", "a")])
    assert only(document, "invalid_edge").as_dict() == {
        "severity": "error",
        "code": "invalid_edge",
        "message": "edge 'x' connects node 'a' to itself",
        "edge_id": "x",
        "path": ["edges", 0],
    }


def test_it_reports_every_problem_at_once() -> None:
    document = workflow(
        [
            node("a", timeout_seconds=0),
            node("b", "wait", duration_seconds=None),
            node("c"),
            node("x"),
            node("y"),
        ],
        [
            *chain("a", "b"),
            edge("bad", "b", "ghost"),
            edge("loop", "c", "c"),
            *chain("x", "y"),
            edge("yx", "y", "x"),
        ],
        [variable("bad name")],
    )
    assert sorted(set(codes(document))) == [
        "cyclic_graph",
        "invalid_edge",
        "invalid_node",
        "invalid_variable",
        "unreachable_node",
    ]
