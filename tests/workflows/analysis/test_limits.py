"""Size limits: a workflow over one gets a `too_large` finding before the expensive passes."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from bench.workflow_generator import KNOWN_WORKFLOW_IDS as GENERATED_KNOWN_IDS
from bench.workflow_generator import generate_workflow
from bench.workflow_shapes import (
    decision_ladder,
    deep_nesting,
    dense_joins,
    fan_out,
    nested_one_join,
    wide_decision,
)
from tests.workflows.samples import (
    KNOWN_WORKFLOW_IDS,
    chain,
    edge,
    fixture_names,
    load_fixture,
    node,
    workflow,
)
from workflows.analysis import validation
from workflows.analysis.limits import WorkflowLimits, current_limits
from workflows.analysis.validation import validate_workflow
from workflows.compiler import compile_workflow
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.findings import DSLValidationError, Finding

SMALL = WorkflowLimits(max_nodes=10, max_edges=12, max_branches=3, max_depth=2)


def too_large(document: WorkflowDocument, limits: WorkflowLimits = SMALL) -> list[Finding]:
    analysis = validate_workflow(document, known_workflow_ids=set(), limits=limits)
    return [finding for finding in analysis.findings if finding.code == "too_large"]


def never(*arguments: Any, **keywords: Any) -> Any:
    raise AssertionError("an expensive pass ran on a workflow over the limits")


def steps(count: int) -> WorkflowDocument:
    """`count` activities in a row."""
    node_ids = [f"s{index}" for index in range(count)]
    return workflow([node(node_id) for node_id in node_ids], chain(*node_ids))


@pytest.mark.parametrize(
    ("document", "says", "setting"),
    [
        (steps(11), "the workflow has 11 nodes; at most 10 are allowed", "WORKFLOW_MAX_NODES"),
        (
            workflow(steps(10)["nodes"], [edge(f"e{n}", "s0", f"s{1 + n % 9}") for n in range(13)]),
            "the workflow has 13 edges; at most 12 are allowed",
            "WORKFLOW_MAX_EDGES",
        ),
        (fan_out(4), "node 'n2' has 4 branches; at most 3 are allowed", "WORKFLOW_MAX_BRANCHES"),
        (wide_decision(3), "node 'n1' has 4 branches; at most 3 are allowed", "WORKFLOW_MAX_BRANCHES"),
    ],
    ids=["nodes", "edges", "parallel branches", "decision branches"],
)
def test_a_workflow_over_a_count_limit_is_refused_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch, document: WorkflowDocument, says: str, setting: str
) -> None:
    monkeypatch.setattr(validation, "parse_object", never)

    analysis = validate_workflow(document, known_workflow_ids=set(), limits=SMALL)

    assert analysis.workflow is None
    [finding] = analysis.findings
    assert (finding.severity, finding.code) == ("error", "too_large")
    assert finding.message.startswith(says)
    assert f"(the {setting} setting)" in finding.message


def test_the_branches_configured_on_a_node_count_even_without_their_edges() -> None:
    document = workflow([node("split", "parallel", branches=["a", "b", "c", "d"])])

    [finding] = too_large(document)

    assert (finding.node_id, finding.path) == ("split", ("nodes", 0))
    assert "has 4 branches" in finding.message


@pytest.mark.parametrize(
    ("document", "deepest"),
    [
        (decision_ladder(3), "n6"),  # the third decision's own step
        (deep_nesting(3), "n11"),  # the innermost block's first step
        (nested_one_join(3), "n7"),  # the innermost block's step
        (dense_joins(2, 3), "n6"),
    ],
    ids=["decision ladder", "nested parallels", "nested parallels with one join", "dense joins"],
)
def test_nesting_over_the_limit_is_refused_before_the_other_passes(
    monkeypatch: pytest.MonkeyPatch, document: WorkflowDocument, deepest: str
) -> None:
    monkeypatch.setattr(validation, "parse_inputs", never)

    [finding] = too_large(document, WorkflowLimits(max_depth=2))

    assert finding.node_id == deepest
    assert finding.message == (
        f"node {deepest!r} is inside 3 nested decision or parallel blocks; at most 2 are allowed "
        "(the WORKFLOW_MAX_DEPTH setting): not analysed further"
    )


@pytest.mark.parametrize(
    "document",
    [
        steps(10),
        fan_out(3),
        wide_decision(2),
        decision_ladder(2),
        deep_nesting(2),
        nested_one_join(2),
        dense_joins(2, 2),
    ],
    ids=["nodes", "parallel branches", "decision branches", "ladder", "nesting", "one join", "dense joins"],
)
def test_a_workflow_at_the_limits_is_analysed_in_full(document: WorkflowDocument) -> None:
    limits = WorkflowLimits(
        max_nodes=len(document["nodes"]), max_edges=len(document["edges"]), max_branches=3, max_depth=2
    )

    analysis = validate_workflow(document, known_workflow_ids=set(), limits=limits)

    assert analysis.workflow is not None
    assert analysis.is_valid, analysis.errors


def test_blocks_that_close_before_the_next_opens_do_not_add_up() -> None:
    # Ten decisions one after the other, each joining before the next: never more than one open.
    document = decision_ladder(1)
    for _ in range(9):
        more = decision_ladder(1)
        offset = len(document["nodes"])
        renamed = {item["id"]: f"n{offset + int(item['id'][1:])}" for item in more["nodes"]}
        for item in more["nodes"]:
            item["id"] = renamed[item["id"]]
        for number, item in enumerate(more["edges"]):
            item.update(
                id=f"x{offset}_{number}", source=renamed[item["source"]], target=renamed[item["target"]]
            )
        document["edges"].append(edge(f"link{offset}", document["nodes"][-1]["id"], more["nodes"][0]["id"]))
        document["nodes"] += more["nodes"]
        document["edges"] += more["edges"]

    assert too_large(document, WorkflowLimits(max_depth=1)) == []


def test_compiling_a_workflow_over_the_limits_raises_with_the_finding() -> None:
    with pytest.raises(DSLValidationError) as refused:
        compile_workflow(fan_out(4), known_workflow_ids=set(), limits=SMALL)

    assert refused.value.code == "too_large"


def test_the_default_limits_admit_every_fixture_and_generated_workflow() -> None:
    for name in fixture_names():
        assert too_large(load_fixture(name), WorkflowLimits()) == [], name
    for size in (10, 500, 2000):
        document = generate_workflow(size, seed=size)
        analysis = validate_workflow(document, known_workflow_ids=GENERATED_KNOWN_IDS)
        assert analysis.is_valid, (size, analysis.errors[:3])


def test_the_limits_in_force_are_the_settings() -> None:
    defaults = WorkflowLimits()
    assert current_limits() == defaults
    assert (defaults.max_nodes, defaults.max_edges, defaults.max_branches, defaults.max_depth) == (
        settings.WORKFLOW_MAX_NODES,
        settings.WORKFLOW_MAX_EDGES,
        settings.WORKFLOW_MAX_BRANCHES,
        settings.WORKFLOW_MAX_DEPTH,
    )
    with override_settings(WORKFLOW_MAX_NODES=2, WORKFLOW_MAX_DEPTH=7):
        assert current_limits() == WorkflowLimits(max_nodes=2, max_depth=7)
        [finding] = validate_workflow(steps(3), known_workflow_ids=KNOWN_WORKFLOW_IDS).findings
        assert "(the WORKFLOW_MAX_NODES setting)" in finding.message
