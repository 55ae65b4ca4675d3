"""The compiler, through `compile_workflow`: golden files, determinism, the result, errors.

Golden files: tests/workflows/golden/<fixture>.go is the expected Go for
tests/workflows/fixtures/<fixture>.json. After an intended change to the generated code,
regenerate them and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/workflows/test_compiler.py -p no:cacheprovider
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.samples import (
    GOLDEN,
    KNOWN_WORKFLOW_IDS,
    chain,
    edge,
    fixture_names,
    load_fixture,
    node,
    workflow,
)
from workflows.compiler import CompiledWorkflow, compile_workflow
from workflows.dsl.document_types import RawDocument
from workflows.dsl.documents import parse_workflow
from workflows.dsl.findings import DSLValidationError
from workflows.dsl.models import WorkflowDSL

UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
REPOSITORY = Path(__file__).resolve().parents[3]


def compiled(document: RawDocument | WorkflowDSL) -> CompiledWorkflow:
    """Compile with the fixtures' tenant workflows."""
    return compile_workflow(document, known_workflow_ids=KNOWN_WORKFLOW_IDS)


@pytest.mark.parametrize("name", fixture_names())
def test_it_matches_the_golden_file(name: str) -> None:
    code = compiled(load_fixture(name)).code
    golden = GOLDEN / f"{name}.go"
    if UPDATE_GOLDEN:
        golden.write_text(code)
    assert golden.exists(), f"no golden file for {name}; run with UPDATE_GOLDEN=1"
    assert code == golden.read_text()


def test_every_golden_file_has_a_fixture() -> None:
    assert sorted(path.stem for path in GOLDEN.glob("*.go")) == fixture_names()


def shuffled_keys(value: Any, rng: random.Random) -> Any:
    """The same JSON with every object's keys in another order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: shuffled_keys(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [shuffled_keys(item, rng) for item in value]
    return value


@pytest.mark.parametrize("name", ["order_approval", "parallel_race", "decision"])
def test_the_same_workflow_gives_the_same_bytes(name: str) -> None:
    document = load_fixture(name)
    first = compiled(document).code
    assert compiled(json.dumps(document)).code == first
    assert compiled(json.dumps(document).encode()).code == first
    parsed = parse_workflow(document).workflow
    assert compiled(parsed).code == first
    # Object keys carry no order in JSON (nor in the original's HashMaps): reordering them,
    # input mappings included, changes nothing.
    assert compiled(shuffled_keys(document, random.Random(7))).code == first


DIGEST_SCRIPT = """
import hashlib
from bench.workflow_generator import KNOWN_WORKFLOW_IDS as GENERATED, generate_workflow
from tests.workflows.samples import KNOWN_WORKFLOW_IDS, fixture_names, load_fixture
from workflows.compiler import compile_workflow
digest = hashlib.sha256()
for name in fixture_names():
    digest.update(compile_workflow(load_fixture(name), known_workflow_ids=KNOWN_WORKFLOW_IDS).code.encode())
digest.update(compile_workflow(generate_workflow(300, seed=3), known_workflow_ids=GENERATED).code.encode())
print(digest.hexdigest())
"""


def test_the_output_does_not_depend_on_hash_randomisation() -> None:
    """Set and dict orders of strings change with PYTHONHASHSEED; the Go must not."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", DIGEST_SCRIPT],
            cwd=REPOSITORY,
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in ("1", "2")
    ]
    digests = {process.communicate(timeout=60)[0] for process in processes}
    assert all(process.returncode == 0 for process in processes)
    assert len(digests) == 1


def test_the_result_lists_activities_and_workers() -> None:
    result = compiled(load_fixture("order_approval"))
    assert result.activity_stubs == ["AutoApprove", "ValidateOrder"]
    assert result.required_workers == ["omniroute-ai", "omniroute-core", "omniroute-integration"]
    assert [warning.code for warning in result.warnings] == ["no_default_branch"]


def test_an_invalid_workflow_raises_with_every_finding() -> None:
    document = workflow(
        [node("a"), node("b")], [*chain("a", "b"), edge("back", "b", "a"), edge("self", "a", "a")]
    )
    with pytest.raises(DSLValidationError) as raised:
        compiled(document)
    error = raised.value
    assert error.code == "invalid_edge"  # the first error found
    assert {finding.code for finding in error.findings} == {"invalid_edge", "cyclic_graph", "no_entry_node"}
    body = error.as_dict()
    assert body["error"] == "invalid_edge"
    assert body["message"] == "edge 'self' connects node 'a' to itself"
    assert {
        "severity": "error",
        "code": "cyclic_graph",
        "message": "the workflow loops: 'a' -> 'b' -> 'a'",
        "node_id": "a",
        "path": ["a", "b", "a"],
    } in body["details"]


def test_a_document_that_is_not_json_raises_too() -> None:
    with pytest.raises(DSLValidationError) as raised:
        compiled("{")
    assert raised.value.code == "invalid_document"


def test_identifiers_survive_awkward_names() -> None:
    document = workflow(
        [node("a-b"), node("a_b"), node("func"), node("9")],
        chain("a-b", "a_b", "func", "9"),
        name="123 go!",
    )
    code = compiled(document).code
    assert "func Workflow123GoWorkflow(ctx workflow.Context" in code
    for method in ("stepAB(", "stepAB2(", "stepFunc(", "step9("):
        assert f") {method}ctx workflow.Context) error {{" in code


def test_a_nameless_workflow_is_named_after_its_id() -> None:
    assert "func Workflow5B0F3C2EWorkflow(" in compiled(workflow([node("a")], name="???")).code


def test_uncertain_nodes_are_guarded_and_certain_ones_are_not() -> None:
    code = compiled(load_fixture("edge_conditions")).code
    assert '\tif e.active["page"] {' in code
    assert '\tif e.active["close"] {' in code
    assert 'e.active["triage"]' not in code
    assert 'e.active["severity"]' not in code


def test_a_parallel_join_after_waiting_for_all_needs_no_guard() -> None:
    code = compiled(load_fixture("parallel")).code
    assert "e.runParallel(ctx, true, e.branchFanOut1, e.branchFanOut2)" in code
    assert 'e.active["merge"]' not in code


def test_each_error_policy_compiles_to_its_own_handling() -> None:
    policies = {
        "fail": "temporal.NewNonRetryableApplicationError(fmt.Sprintf(",
        "retry": "temporal.NewApplicationErrorWithCause(fmt.Sprintf(",
        "ignore": "// The run goes on as if the node had succeeded.\n\treturn nil",
        "compensate": "temporal.NewNonRetryableApplicationError(fmt.Sprintf(",
    }
    for policy, expected in policies.items():
        document = workflow(
            [node("a")],
            error_policy={"on_error": policy, "compensation_workflow_id": None, "notification_channel": None},
        )
        assert expected in compiled(document).code, policy
    assert "workflow.ExecuteChildWorkflow(compensationCtx" in compiled(load_fixture("order_approval")).code
