"""Evaluating conditions and templates: the operators, truth, paths, text, and agreement with
the Go helpers the compiler emits (run for real when the Go toolchain is installed)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.workflows.go_tools import GO, requires_go
from workflows.compiler.go_expressions import go_condition, go_input_value, go_text
from workflows.dsl.evaluation import (
    compare,
    condition_holds,
    evaluate,
    holds,
    json_equal,
    lookup,
    render_template,
    render_text,
    text_of,
    truthy,
)
from workflows.dsl.expressions import ExpressionError, parse_expression, parse_template

RUNTIME_TEMPLATE = (
    Path(__file__).resolve().parents[3] / "workflows" / "compiler" / "templates" / "runtime.go.j2"
)

SCOPE: dict[str, Any] = {
    "order": {
        "total": 150,
        "status": "paid",
        "items": [{"sku": "A"}, {"sku": "B"}],
        "meta": {},
        "note": None,
        "tags": ["x"],
    },
    "count": 0,
    "flag": True,
    "off": False,
    "name": "Zoë",
    "ratio": 0.5,
    "big": 2**60,
    "empty": "",
    "nothing": [],
    "text3": "3",
    "one_float": 1.0,
    "one_int": 1,
}

# (condition, whether it holds over SCOPE)
CONDITIONS: list[tuple[str, bool]] = [
    # numbers by value, ints and floats alike
    ("order.total >= 100", True),
    ("order.total > 150", False),
    ("order.total == 150.0", True),
    ("order.total != 150", False),
    ("order.total <= 150", True),
    ("order.total < 150", False),
    ("one_int == one_float", True),
    ("ratio < 0.6 && ratio > 0.4", True),
    ("-1 < count", True),
    ("1e-7 > 0", True),
    ("big == 1152921504606846976", True),
    # strings compare exactly, and in code point order
    ("order.status == 'paid'", True),
    ('order.status != "paid"', False),
    ("order.status < 'zzz'", True),
    ("name > 'Zoe'", True),
    ("'B' < 'a'", True),
    ("'abc' >= 'abd'", False),
    # a number and its text differ, and do not order
    ("text3 == 3", False),
    ("text3 != 3", True),
    ("text3 < 4", False),
    ("text3 >= 4", False),
    ("count < 'a'", False),
    # bools are not numbers
    ("flag == 1", False),
    ("flag == true", True),
    ("off == 0", False),
    ("flag > off", False),
    ("flag >= true", False),
    # null, and paths that lead nowhere
    ("order.note == null", True),
    ("missing == null", True),
    ("missing.deeper.still == null", True),
    ("order.items.sku == null", True),
    ("order.status.length == null", True),
    ("missing != null", False),
    ("missing < 1", False),
    ("null <= null", False),
    # objects and lists by JSON equality; never ordered
    ("order == order", True),
    ("order.items == order.items", True),
    ("order.meta == nothing", False),
    ("order.items != order.tags", True),
    ("order.items < order.tags", False),
    # truth in &&, || and !
    ("count", False),
    ("!count", True),
    ("empty || nothing", False),
    ("order.meta", False),
    ("order.items", True),
    ("flag && order.total", True),
    ("flag && count || name", True),
    ("off || missing", False),
    ("!order.total == 150", False),
    ("(order.total > 100) == true", True),
    ("(order.total > 100) == 1", False),
    ("true", True),
    ("null", False),
    ("'x'", True),
    ("''", False),
    ("0", False),
    ("-0.5", True),
]

# (template, its value as an input mapping, as text)
TEMPLATES: list[tuple[str, Any, str]] = [
    ("Total: {{order.total}}", "Total: 150", "Total: 150"),
    ("{{order}}", SCOPE["order"], json.dumps(SCOPE["order"], sort_keys=True, separators=(",", ":"))),
    ("{{ order.items }}", SCOPE["order"]["items"], '[{"sku":"A"},{"sku":"B"}]'),
    ("{{missing}}", None, ""),
    ("x{{missing.deeper}}y", "xy", "xy"),
    ("{{order.note}}", None, ""),
    (
        "{{flag}}/{{off}}/{{count}}/{{ratio}}/{{big}}/{{one_float}}",
        "true/false/0/0.5/1152921504606847000/1",
        "true/false/0/0.5/1152921504606847000/1",
    ),
    ("{{name}}", "Zoë", "Zoë"),
    ("{{order.meta}}{{nothing}}", "{}[]", "{}[]"),
    ("{{empty}}", "", ""),
    ("plain text", "plain text", "plain text"),
    ("", "", ""),
]


@pytest.mark.parametrize(("condition", "expected"), CONDITIONS)
def test_each_operator_and_truth_rule(condition: str, expected: bool) -> None:
    assert holds(condition, SCOPE) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (False, False),
        (True, True),
        (0, False),
        (0.0, False),
        (-0.0, False),
        (1, True),
        (-0.25, True),
        (math.nan, True),  # as in Go: NaN != 0
        ("", False),
        (" ", True),
        ("false", True),
        ("0", True),
        ([], False),
        ([None], True),
        ({}, False),
        ({"a": None}, True),
    ],
)
def test_truthiness(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


def test_lookup_follows_fields_and_is_none_when_any_step_is_missing() -> None:
    assert lookup(("order", "total"), SCOPE) == 150
    assert lookup(("order",), SCOPE) is SCOPE["order"]
    assert lookup((), SCOPE) is SCOPE
    assert lookup(("missing",), SCOPE) is None
    assert lookup(("missing", "deeper"), SCOPE) is None
    assert lookup(("order", "note", "deeper"), SCOPE) is None
    # Lists are not indexed and strings have no fields, as in Go's lookup.
    assert lookup(("order", "items", "0"), SCOPE) is None
    assert lookup(("order", "status", "length"), SCOPE) is None


def test_evaluate_gives_values_and_comparisons_give_bools() -> None:
    assert evaluate(parse_expression("order.items"), SCOPE) == SCOPE["order"]["items"]
    assert evaluate(parse_expression("'text'"), SCOPE) == "text"
    assert evaluate(parse_expression("-2.5"), SCOPE) == -2.5
    assert evaluate(parse_expression("order.total > 1"), SCOPE) is True
    assert evaluate(parse_expression("count || empty"), SCOPE) is False
    assert evaluate(parse_expression("!name"), SCOPE) is False
    assert condition_holds(parse_expression("order.tags"), SCOPE) is True


def test_a_long_chain_of_clauses_is_evaluated_without_recursion() -> None:
    chain = " && ".join(["flag"] * 3000)
    assert holds(chain, SCOPE) is True
    assert holds(chain + " && off", SCOPE) is False
    assert holds(" || ".join(["off"] * 3000) + " || flag", SCOPE) is True


def test_a_condition_that_does_not_parse_raises() -> None:
    with pytest.raises(ExpressionError):
        holds("order.total >", SCOPE)
    with pytest.raises(ExpressionError):
        render_text("{{ not a path }}", SCOPE)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (3.0, "3"),
        (-0.0, "-0"),
        (1.5, "1.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e300, "1.5e+300"),
        (2**60, "1152921504606847000"),  # Go holds the number as a float64
        ("as is: {{x}} <b>", "as is: {{x}} <b>"),
        ([], "[]"),
        ({}, "{}"),
        ([1, "two", None, True, 2.5, {"k": []}], '[1,"two",null,true,2.5,{"k":[]}]'),
        ({"b": 1, "a": {"d": 2, "c": 3}}, '{"a":{"c":3,"d":2},"b":1}'),
        ({"html": "<a & b>"}, '{"html":"\\u003ca \\u0026 b\\u003e"}'),
        ({"lines": 'é\n\t"\\\u2028\x01'}, '{"lines":"é\\n\\t\\"\\\\\\u2028\\u0001"}'),
        # Go 1.22 and later (older Go wrote \u0008 and \u000c).
        (["\b\f"], '["\\b\\f"]'),
        # What Go cannot write as JSON, it writes with fmt.Sprint.
        (math.nan, "NaN"),
        (-math.inf, "-Inf"),
        (10**400, "+Inf"),
        (
            {"b": [1.0, math.nan, None, "x y", 1e6], "a": math.inf, "c": {}},
            "map[a:+Inf b:[1 NaN <nil> x y 1e+06] c:map[]]",
        ),
    ],
)
def test_text_of_every_kind_of_value(value: Any, text: str) -> None:
    assert text_of(value) == text


def test_text_of_a_value_of_any_depth() -> None:
    deep: Any = "core"
    for _ in range(5000):
        deep = [deep]
    assert text_of(deep) == "[" * 5000 + '"core"' + "]" * 5000
    assert text_of({"a": deep, "b": math.nan}).startswith("map[a:[[[")


@pytest.mark.parametrize(("template", "value", "text"), TEMPLATES)
def test_templates_render_values_and_text(template: str, value: Any, text: str) -> None:
    assert render_text(template, SCOPE) == value
    assert render_text(template, SCOPE, as_text=True) == text
    assert render_template(parse_template(template), SCOPE, as_text=True) == text


def test_a_template_that_is_one_placeholder_passes_the_value_through() -> None:
    assert render_text("{{order}}", SCOPE) is SCOPE["order"]
    assert render_text("{{ order.total }}", SCOPE) == 150
    assert render_text("{{flag}}", SCOPE) is True
    assert render_text("{{missing}}", SCOPE) is None
    # Anything around the placeholder makes it text.
    assert render_text(" {{order.total}}", SCOPE) == " 150"
    assert render_text("{{order.total}}{{order.total}}", SCOPE) == "150150"


def test_json_equality_is_go_deep_equality_of_decoded_json() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal([True], [1])
    assert not json_equal({"a": None}, {})
    assert not json_equal([1, 2], [2, 1])
    assert not json_equal([math.nan], [math.nan])
    assert compare("==", math.nan, 1)  # as Go's compare: NaN is neither < nor >


# Properties ----------------------------------------------------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)
_ORDERED = st.one_of(
    st.tuples(st.integers(-100, 100) | st.floats(-1e9, 1e9), st.integers(-100, 100) | st.floats(-1e9, 1e9)),
    st.tuples(st.text(max_size=4), st.text(max_size=4)),
)


@given(_ORDERED)
def test_two_numbers_or_two_strings_are_ordered_one_way(pair: tuple[Any, Any]) -> None:
    left, right = pair
    less, equal, greater = (compare(operator, left, right) for operator in ("<", "==", ">"))
    assert [less, equal, greater].count(True) == 1
    assert compare("<=", left, right) == (less or equal)
    assert compare(">=", left, right) == (greater or equal)
    assert compare("!=", left, right) == (not equal)
    assert compare(">", right, left) == less


@given(JSON_VALUES, JSON_VALUES)
def test_anything_else_is_only_equal_or_not(left: Any, right: Any) -> None:
    both_numbers = all(isinstance(side, int | float) and not isinstance(side, bool) for side in (left, right))
    if both_numbers or (isinstance(left, str) and isinstance(right, str)):
        return
    assert not any(compare(operator, left, right) for operator in ("<", "<=", ">", ">="))
    assert compare("==", left, right) != compare("!=", left, right)
    assert compare("==", left, left)


@given(JSON_VALUES)
def test_one_placeholder_gives_the_value_and_text_reads_back_as_json(value: Any) -> None:
    assert render_text("{{value}}", {"value": value}) is value
    text = render_text("{{value}}", {"value": value}, as_text=True)
    if value is None:
        assert text == ""
    elif isinstance(value, str):
        assert text == value
    else:
        assert json_equal(json.loads(text), value)


# Agreement with the Go runtime helpers ---------------------------------------------------


def _go_helpers() -> str:
    """lookup, number, truthy, compare and text from the compiler's runtime template."""
    template = RUNTIME_TEMPLATE.read_text()
    match = re.search(r"// lookup reads.*?(?=// childInput)", template, re.DOTALL)
    assert match is not None, "the helpers moved in runtime.go.j2"
    helpers = match.group(0)
    assert "{%" not in helpers
    return helpers.replace("{{ p }}", "")


def _go_program() -> str:
    compiled = [
        f"func(e *Execution) interface{{}} {{ return {go_condition(parse_expression(text))} }},"
        for text, _ in CONDITIONS
    ]
    for template, _, _ in TEMPLATES:
        parts = parse_template(template)
        compiled.append(f"func(e *Execution) interface{{}} {{ return {go_input_value(parts)} }},")
        compiled.append(f"func(e *Execution) interface{{}} {{ return {go_text(parts)} }},")
    cases = "\n\t".join(compiled)
    return f"""package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
)

type Execution struct {{
	Variables map[string]interface{{}}
}}

{_go_helpers()}

var cases = []func(e *Execution) interface{{}}{{
	{cases}
}}

func main() {{
	var request struct {{
		Variables map[string]interface{{}} `json:"variables"`
		Compare   [][3]interface{{}}       `json:"compare"`
		Values    []interface{{}}          `json:"values"`
	}}
	if err := json.NewDecoder(os.Stdin).Decode(&request); err != nil {{
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}}
	e := &Execution{{Variables: request.Variables}}
	compiled := []interface{{}}{{}}
	for _, run := range cases {{
		compiled = append(compiled, run(e))
	}}
	compared := []bool{{}}
	for _, item := range request.Compare {{
		compared = append(compared, e.compare(item[0].(string), item[1], item[2]))
	}}
	truths := []bool{{}}
	texts := []string{{}}
	for _, value := range request.Values {{
		truths = append(truths, e.truthy(value))
		texts = append(texts, e.text("<", value, ">"))
	}}
	json.NewEncoder(os.Stdout).Encode(map[string]interface{{}}{{
		"compiled": compiled, "compare": compared, "truthy": truths, "text": texts,
	}})
}}
"""


@pytest.fixture(scope="module")
def go_helpers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go helpers and the compiled CONDITIONS and TEMPLATES, built once."""
    assert GO is not None
    directory = tmp_path_factory.mktemp("go-evaluation")
    (directory / "go.mod").write_text("module sce.invalid/evaluation\n\ngo 1.19\n")
    (directory / "main.go").write_text(_go_program())
    environment = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local"}
    if not any(os.environ.get(name) for name in ("GOCACHE", "XDG_CACHE_HOME", "HOME")):
        environment["GOCACHE"] = str(directory / "gocache")
    built = subprocess.run(
        [GO, "build", "-o", "evaluation", "."], cwd=directory, capture_output=True, text=True, env=environment
    )
    assert built.returncode == 0, built.stderr
    return directory / "evaluation"


def _run_go(binary: Path, request: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        [str(binary)], input=json.dumps(request), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@requires_go
def test_the_go_compiler_and_the_evaluator_agree_on_every_table_case(go_helpers: Path) -> None:
    answer = _run_go(go_helpers, {"variables": SCOPE, "compare": [], "values": []})
    compiled = iter(answer["compiled"])
    for (condition, expected), go_result in zip(CONDITIONS, compiled, strict=False):
        assert go_result is expected, condition
    for template, value, text in TEMPLATES:
        go_value, go_text_result = next(compiled), next(compiled)
        assert json_equal(go_value, value), template
        assert go_text_result == text, template


# \b and \f are left out: the Go installed here may predate 1.22, which changed how they are written.
_GO_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\b\f"), max_size=6)
_GO_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _GO_TEXT
)
_GO_VALUES = st.recursive(
    _GO_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_GO_TEXT, children, max_size=3),
    max_leaves=8,
)
_OPERATORS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
# Values that look alike in Python (True == 1, [1] == [1.0]): pairs of them find the differences.
_LOOKALIKES = st.sampled_from(
    [
        0,
        1,
        0.0,
        1.0,
        -0.0,
        2**53 + 1,
        2.0**53,
        True,
        False,
        None,
        "",
        "1",
        [],
        {},
        [1],
        [1.0],
        [True],
        {"a": 1},
        {"a": True},
    ]
)
_SIMILAR = st.one_of(
    st.tuples(_OPERATORS, _GO_VALUES, _GO_VALUES),
    st.tuples(_OPERATORS, _GO_SCALARS, _GO_SCALARS),
    st.tuples(_OPERATORS, _LOOKALIKES, _LOOKALIKES),
    st.builds(
        lambda operator, value: (operator, value, json.loads(json.dumps(value))), _OPERATORS, _GO_VALUES
    ),
)


@requires_go
@settings(max_examples=60, deadline=None)
@given(st.lists(_SIMILAR, min_size=1, max_size=25), st.lists(_GO_VALUES, min_size=1, max_size=25))
def test_go_and_python_helpers_agree_on_any_json(
    go_helpers: Path, comparisons: list[tuple[str, Any, Any]], values: list[Any]
) -> None:
    request = {"variables": {}, "compare": [list(item) for item in comparisons], "values": values}
    # Both read the same JSON: Python keeps ints as ints, Go makes every number a float64.
    decoded = json.loads(json.dumps(request))
    answer = _run_go(go_helpers, request)
    assert answer["compare"] == [compare(*item) for item in decoded["compare"]]
    assert answer["truthy"] == [truthy(value) for value in decoded["values"]]
    assert answer["text"] == ["<" + text_of(value) + ">" for value in decoded["values"]]
