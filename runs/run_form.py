"""The "Run" form of a published version: a field per workflow variable, and test outputs.

Values are typed as text and handed to the run service to be read by each variable's type
(`inputs_as_text`), which answers with a problem per field it refuses. Test outputs are
given per activity the catalog does not have (by activity name) and per AI or n8n node (by
node id), like pinned data in n8n: a JSON output, or an error's text. Whatever is refused
comes back in the same fields, as typed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runs.activities.catalog import BUILTINS
from runs.inputs import RunInputError, parse_run_inputs
from workflows.dsl.documents import parse_workflow
from workflows.dsl.models import ActivityConfig, AiActionConfig, N8nConfig, WorkflowDSL

TYPE_WORDS = {
    "string": "text",
    "number": "number",
    "boolean": "true or false",
    "object": "JSON object",
    "array": "JSON list",
}
MODES = ("", "output", "error")


@dataclass
class InputField:
    """A workflow variable as a form field (`name` in the form: `input-<index>`)."""

    index: int
    name: str
    variable_type: str
    required: bool
    description: str
    default_text: str
    value: str = ""
    problem: str = ""

    @property
    def key(self) -> str:
        return f"input-{self.index}"

    @property
    def type_words(self) -> str:
        return TYPE_WORDS.get(self.variable_type, self.variable_type)

    @property
    def multiline(self) -> bool:
        return self.variable_type in ("object", "array")


@dataclass
class TestOutputField:
    """A test output: `canned_key` is what the run looks it up by (an activity name, or an
    AI/n8n node's id); `nodes` the labels of the nodes it stands in for."""

    index: int
    canned_key: str
    kind: str  # activity | ai_action | n8n
    nodes: list[str]
    mode: str = ""  # "" (none given), "output" or "error"
    text: str = ""
    problem: str = ""

    @property
    def key(self) -> str:
        return f"test-{self.index}"

    @property
    def title(self) -> str:
        if self.kind == "activity":
            return f"Activity {self.canned_key}"
        return ("AI action " if self.kind == "ai_action" else "n8n workflow ") + ", ".join(self.nodes)


@dataclass
class RunForm:
    inputs: list[InputField]
    tests: list[TestOutputField]
    variables: list[dict[str, Any]]  # the workflow's, as the input parser takes them
    problems: list[str] = field(default_factory=list)  # those that belong to no field

    def values(self) -> dict[str, str]:
        """The variables given a value (left empty, a variable takes its default, if any)."""
        return {item.name: item.value for item in self.inputs if item.value.strip()}

    def canned(self) -> dict[str, dict[str, Any]]:
        """The test outputs given; call `read_tests` first (it checks the JSON)."""
        given: dict[str, dict[str, Any]] = {}
        for item in self.tests:
            if item.mode == "output":
                given[item.canned_key] = {"output": json.loads(item.text)}
            elif item.mode == "error":
                given[item.canned_key] = {"error": item.text.strip()}
        return given

    @property
    def has_problems(self) -> bool:
        fields: list[InputField | TestOutputField] = [*self.inputs, *self.tests]
        return bool(self.problems) or any(item.problem for item in fields)

    def place_problems(self, problems: Mapping[str, str], message: str) -> None:
        """The service's problems next to their fields (by variable name or test-output key);
        the rest, or the message when none has a field, above the form."""
        by_name: dict[str, InputField | TestOutputField] = {item.name: item for item in self.inputs}
        for item in self.tests:
            by_name.setdefault(item.canned_key, item)
        placed = False
        for name, problem in problems.items():
            target = by_name.get(name)
            if target is None:
                self.problems.append(f"{name}: {problem}")
            else:
                target.problem = problem
                placed = True
        if not placed and not self.problems:
            self.problems.append(message)


def _default_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def run_form(document: Any) -> RunForm:
    """The empty form for a version's document (no fields when it no longer parses)."""
    workflow = parse_workflow(document).workflow
    if workflow is None:
        return RunForm(inputs=[], tests=[], variables=[])
    inputs = [
        InputField(
            index=index,
            name=variable.name,
            variable_type=variable.variable_type,
            required=variable.required,
            description=variable.description or "",
            default_text=_default_text(variable.default_value),
        )
        for index, variable in enumerate(workflow.variables)
    ]
    variables = [variable.model_dump() for variable in workflow.variables]
    return RunForm(inputs=inputs, tests=_test_outputs(workflow), variables=variables)


def _test_outputs(workflow: WorkflowDSL) -> list[TestOutputField]:
    """One per activity name the catalog lacks (however many nodes call it), then one per AI
    or n8n node, in document order."""
    fields: dict[str, TestOutputField] = {}
    for node in workflow.nodes:
        config = node.config
        label = node.label or node.id
        if isinstance(config, ActivityConfig):
            if config.activity_name in BUILTINS:
                continue
            key, kind = config.activity_name, "activity"
        elif isinstance(config, AiActionConfig | N8nConfig):
            key, kind = node.id, node.node_type
        else:
            continue
        entry = fields.get(key)
        if entry is None:
            fields[key] = TestOutputField(index=len(fields), canned_key=key, kind=kind, nodes=[label])
        elif label not in entry.nodes:
            entry.nodes.append(label)
    return list(fields.values())


def read_form(document: Any, data: Mapping[str, str]) -> RunForm:
    """The form with what was posted and every problem marked at once: inputs read by their
    variables' types (as the run service reads them again), test outputs that are JSON, errors
    with words."""
    form = run_form(document)
    for item in form.inputs:
        item.value = str(data.get(item.key, ""))
    try:
        parse_run_inputs(form.variables, form.values(), as_text=True)
    except RunInputError as error:
        form.place_problems(error.problems, error.message)
    for test in form.tests:
        mode = str(data.get(f"{test.key}-mode", ""))
        test.mode = mode if mode in MODES else ""
        test.text = str(data.get(f"{test.key}-text", ""))
        if test.mode == "output":
            try:
                json.loads(test.text)
            except ValueError as error:
                test.problem = f'This is not JSON: {error}. Text goes in quotes, e.g. "done".'
        elif test.mode == "error" and not test.text.strip():
            test.problem = "Say what the error is."
    return form
