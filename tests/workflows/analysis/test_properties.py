"""Properties over generated input: validation never raises, compilation is deterministic."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workflow_generator import KNOWN_WORKFLOW_IDS as GENERATED_KNOWN_IDS
from bench.workflow_generator import generate_workflow
from tests.workflows.go_tools import go_tokens, gofmt_report, requires_gofmt
from tests.workflows.samples import (
    KNOWN_WORKFLOW_IDS,
    edge,
    fixture_names,
    load_fixture,
    node,
    variable,
    workflow,
)
from workflows.analysis.validation import validate_workflow
from workflows.compiler import compile_workflow
from workflows.dsl.document_types import RawDocument, WorkflowDocument
from workflows.dsl.expressions import ExpressionError, parse_expression, parse_template
from workflows.dsl.findings import DSLValidationError

PROPERTIES = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value inside a JSON value, itself first."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += paths_in(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += paths_in(item, (*prefix, index))
    return paths


FIXTURE_DOCUMENTS = {name: load_fixture(name) for name in fixture_names()}
FIXTURE_PATHS = [
    (name, path) for name, document in FIXTURE_DOCUMENTS.items() for path in paths_in(document)[1:]
]


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> WorkflowDocument:
    """A fixture with one value replaced by arbitrary JSON, or one key or item removed."""
    name, path = draw(st.sampled_from(FIXTURE_PATHS))
    document = copy.deepcopy(FIXTURE_DOCUMENTS[name])
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    if draw(st.booleans()):
        parent[path[-1]] = draw(json_values)
    else:
        del parent[path[-1]]
    return document


def assert_validates_without_raising(document: RawDocument) -> None:
    """Validation returns findings (an error when there is no workflow) and never raises."""
    analysis = validate_workflow(document, known_workflow_ids=KNOWN_WORKFLOW_IDS)
    if analysis.workflow is None:
        assert analysis.errors, "a document that is not a workflow must say why"
    for finding in analysis.findings:
        assert finding.severity in ("error", "warning")
        json.dumps(finding.as_dict())


@PROPERTIES
@given(json_values)
def test_any_json_value_is_a_workflow_or_findings(document: Any) -> None:
    assert_validates_without_raising(document)
    assert_validates_without_raising(json.dumps(document))


@PROPERTIES
@given(st.text() | st.binary())
def test_any_text_or_bytes_is_a_workflow_or_findings(document: str | bytes) -> None:
    assert_validates_without_raising(document)


@PROPERTIES
@given(mutated_fixtures())
def test_a_damaged_workflow_gets_findings_and_compiles_or_raises_the_domain_error(
    document: WorkflowDocument,
) -> None:
    assert_validates_without_raising(document)
    analysis = validate_workflow(document, known_workflow_ids=KNOWN_WORKFLOW_IDS)
    if analysis.is_valid:
        result = compile_workflow(document, known_workflow_ids=KNOWN_WORKFLOW_IDS)
        assert result.code.startswith("// Code generated")
    else:
        with pytest.raises(DSLValidationError) as raised:
            compile_workflow(document, known_workflow_ids=KNOWN_WORKFLOW_IDS)
        assert raised.value.findings == analysis.findings
        assert raised.value.code == analysis.errors[0].code


@PROPERTIES
@given(st.integers(min_value=1, max_value=80), st.integers(min_value=0, max_value=2**32))
def test_random_valid_workflows_compile_deterministically(size: int, seed: int) -> None:
    document = generate_workflow(size, seed=seed)
    analysis = validate_workflow(document, known_workflow_ids=GENERATED_KNOWN_IDS)
    assert analysis.errors == []
    first = compile_workflow(document, known_workflow_ids=GENERATED_KNOWN_IDS)
    second = compile_workflow(json.dumps(document), known_workflow_ids=GENERATED_KNOWN_IDS)
    assert first == second
    assert not [token for token in go_tokens(first.code) if token.kind == "invalid"]
    assert first.code.count("{") == first.code.count("}")


@PROPERTIES
@given(st.text())
def test_the_parsers_raise_nothing_but_expression_errors(text: str) -> None:
    for parse in (parse_expression, parse_template):
        position = error_position(parse, text)
        assert position is None or 0 <= position <= len(text)


def error_position(parse: Callable[[str], object], text: str) -> int | None:
    """Where parsing `text` fails; None when it succeeds. Any other exception propagates."""
    try:
        parse(text)
    except ExpressionError as problem:
        return problem.position
    return None


names = st.sampled_from(["amount", "status", "order.total", "order.items.count", "{{ flag }}"])
literals = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.text(max_size=8).map(json.dumps),
    st.sampled_from(["true", "false", "null"]),
)
comparisons = st.builds(
    lambda left, operator, right: f"{left} {operator} {right}",
    names,
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    names | literals,
)
conditions: st.SearchStrategy[str] = st.deferred(
    lambda: (
        comparisons
        | names
        | st.builds(lambda a, b: f"{a} && {b}", conditions, conditions)
        | st.builds(lambda a, b: f"({a} || {b})", conditions, conditions)
        | st.builds(lambda a: f"!({a})", conditions)
    )
)


@requires_gofmt
@settings(
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(conditions, min_size=1, max_size=4))
def test_any_condition_compiles_to_gofmt_clean_go(tmp_path: Path, texts: list[str]) -> None:
    branches = [{"id": f"b{index}", "condition": text, "label": text} for index, text in enumerate(texts)]
    document = workflow(
        [node("d", "decision", branches=branches, default_branch="other"), node("x"), node("other")],
        [
            *(edge(f"e{index}", "d", "x", handle=f"b{index}") for index in range(len(texts))),
            edge("o", "d", "other"),
        ],
        [
            variable("amount", "number"),
            variable("status"),
            variable("order", "object"),
            variable("flag", "boolean"),
        ],
    )
    code = compile_workflow(document, known_workflow_ids=KNOWN_WORKFLOW_IDS).code
    (tmp_path / "conditions.go").write_text(code)
    assert gofmt_report(tmp_path) == ([], "", 0)
