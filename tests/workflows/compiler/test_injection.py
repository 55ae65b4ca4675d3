"""Hostile text in every string field must stay inside escaped Go string literals.

The payload tries to close a string and call os.Exit, to end or open comments, to smuggle
a raw string, a NUL, line breaks, and bidirectional controls that make code display
differently from how it compiles ("Trojan Source").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.workflows.go_tools import go_tokens, go_unquote, go_vet, gofmt_report, requires_go, requires_gofmt
from tests.workflows.samples import KNOWN_WORKFLOW_IDS, edge, node, variable, workflow
from workflows.analysis.validation import validate_workflow
from workflows.compiler import compile_workflow
from workflows.dsl.document_types import WorkflowDocument

PAYLOAD = (
    'x"); os.Exit(1); var _ = "'
    " */ /* // `raw` \\ ' \n\r\t \x00 \x1b \u202e\u2066 bidi \u2028 \ufeff 😈 Ω %s %v ${x} <script>"
)
CONDITION = f"status == {json.dumps(PAYLOAD)} || status != 'it\\'s'"


def hostile_workflow() -> WorkflowDocument:
    """A valid workflow with the payload in every string field that may hold free text."""

    def named(prefix: str) -> str:
        return f"{prefix} {PAYLOAD}"

    start, ai, n8n, sub, choose, yes, no = (
        named(name) for name in ("start", "ai", "n8n", "sub", "choose", "yes", "no")
    )
    task, fork, left, right = (named(name) for name in ("task", "fork", "left", "right"))
    nodes = [
        node(
            start,
            activity_name=PAYLOAD,
            input_mapping={PAYLOAD: PAYLOAD, "mixed": f"{PAYLOAD}{{{{status}}}}"},
        ),
        node(
            ai,
            "ai_action",
            model=PAYLOAD,
            prompt_template=f"{PAYLOAD} {{{{ status }}}}",
            output_schema={PAYLOAD: [PAYLOAD]},
        ),
        node(n8n, "n8n", workflow_id=PAYLOAD, webhook_path=PAYLOAD, input_mapping={PAYLOAD: "{{status}}"}),
        node(sub, "subflow", workflow_id=PAYLOAD, input_mapping={"x": PAYLOAD}),
        node(
            choose,
            "decision",
            condition_expression="status",
            branches=[{"id": PAYLOAD, "condition": json.dumps(PAYLOAD), "label": PAYLOAD}],
            default_branch=named("else"),
        ),
        node(yes, "wait", wait_type="signal", signal_name=PAYLOAD, duration_seconds=None, timeout_seconds=60),
        node(no, "wait", wait_type="condition", signal_name=PAYLOAD, condition_expression=CONDITION),
        node(
            task,
            "human_task",
            task_type=PAYLOAD,
            title=PAYLOAD,
            description=PAYLOAD,
            assignee_expression=PAYLOAD,
            form_schema={"title": PAYLOAD},
        ),
        node(fork, "parallel", branches=[left, right], wait_for_all=False),
        node(left, activity_name="Left"),
        node(right, activity_name="Right"),
    ]
    for item in nodes:
        item["label"] = PAYLOAD
    edges = [
        edge(named("e1"), start, ai),
        edge(named("e2"), ai, n8n, condition=CONDITION),
        edge(named("e3"), ai, n8n, handle=PAYLOAD),
        edge(named("e4"), n8n, sub),
        edge(named("e5"), sub, choose),
        edge(named("e6"), choose, yes, handle=PAYLOAD),
        edge(named("else"), choose, no),
        edge(named("e8"), yes, task),
        edge(named("e9"), no, task),
        edge(named("e10"), task, fork),
        edge(named("e11"), fork, left),
        edge(named("e12"), fork, right),
    ]
    for item in edges:
        if item["condition"] is not None:
            item["condition"]["label"] = PAYLOAD
    document = workflow(
        nodes,
        edges,
        [
            variable("status", default_value=PAYLOAD, description=PAYLOAD),
            variable("extra", "object", default_value={PAYLOAD: [PAYLOAD, {"k": PAYLOAD}]}),
        ],
        name=PAYLOAD,
        triggers=[{"trigger_type": "webhook", "config": {"path": PAYLOAD}}],
        error_policy={
            "on_error": "compensate",
            "compensation_workflow_id": PAYLOAD,
            "notification_channel": PAYLOAD,
        },
    )
    nodes[0]["config"]["input_mapping"]["extra"] = "{{extra}}"
    return document


KNOWN = KNOWN_WORKFLOW_IDS | {PAYLOAD}


@pytest.fixture(scope="module")
def hostile_code() -> str:
    """The Go of the hostile workflow, which must validate without errors."""
    analysis = validate_workflow(hostile_workflow(), known_workflow_ids=KNOWN)
    assert analysis.errors == []
    return compile_workflow(hostile_workflow(), known_workflow_ids=KNOWN).code


def test_the_payload_only_appears_inside_string_literals(hostile_code: str) -> None:
    tokens = go_tokens(hostile_code)
    assert [token for token in tokens if token.kind == "invalid"] == []
    strings = {go_unquote(token.text) for token in tokens if token.kind == "string"}
    for expected in (PAYLOAD, f"human-task/task {PAYLOAD}", f"{PAYLOAD} ", f"/sub {PAYLOAD}"):
        assert any(expected in value for value in strings), expected
    outside = "".join(token.text for token in tokens if token.kind not in ("string", "comment"))
    assert outside.isascii()
    assert "\x00" not in outside
    assert "os.Exit" not in outside
    identifiers = {token.text for token in tokens if token.kind == "ident"}
    assert not identifiers & {"os", "Exit", "script", "raw"}


def test_comments_are_single_lines_of_printable_ascii(hostile_code: str) -> None:
    comments = [token.text for token in go_tokens(hostile_code) if token.kind == "comment"]
    assert comments
    for comment in comments:
        assert comment.startswith("//"), comment
        assert all(" " <= char <= "~" for char in comment), comment


def test_raw_strings_are_only_struct_tags(hostile_code: str) -> None:
    raw = {token.text for token in go_tokens(hostile_code) if token.kind == "raw_string"}
    assert raw == {
        '`json:"tenant_id"`',
        '`json:"correlation_id"`',
        '`json:"status,omitempty"`',
        '`json:"extra,omitempty"`',
        '`json:"metadata,omitempty"`',
        '`json:"status"`',
        '`json:"results"`',
        '`json:"completed_at"`',
        '`json:"error,omitempty"`',
    }


def test_no_bidirectional_or_invisible_characters_reach_the_file(hostile_code: str) -> None:
    for char in ("\u202e", "\u2066", "\u2028", "\ufeff", "\x00", "\x1b", "\r"):
        assert char not in hostile_code


@requires_gofmt
def test_the_hostile_workflow_still_parses_and_is_formatted(hostile_code: str, tmp_path: Path) -> None:
    (tmp_path / "hostile.go").write_text(hostile_code)
    assert gofmt_report(tmp_path) == ([], "", 0)


@requires_go
def test_the_hostile_workflow_type_checks(hostile_code: str, tmp_path: Path) -> None:
    package = tmp_path / "generated"
    package.mkdir()
    (package / "hostile.go").write_text(hostile_code)
    result = go_vet(package)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("field", "code"),
    [("variable", "invalid_variable"), ("output_variable", "invalid_node")],
)
def test_names_that_become_code_must_be_plain_identifiers(field: str, code: str) -> None:
    if field == "variable":
        document = workflow([node("a")], variables=[variable(PAYLOAD)])
    else:
        document = workflow([node("a", output_variable=PAYLOAD)])
    analysis = validate_workflow(document, known_workflow_ids=KNOWN)
    assert [finding.code for finding in analysis.errors] == [code]
