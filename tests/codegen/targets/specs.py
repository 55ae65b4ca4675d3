"""Service specs for the target tests: plain, with a workflow, and with hostile user text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codegen.spec import ServiceSpec, build_spec
from tests.workflows.samples import chain, load_fixture, node, variable, workflow

# Texts a business user may type, each aimed at one way a generated file could break.
HOSTILE_TEXTS = (
    "He said \"stop\" and 'go'",
    '"""triple double""" and \'\'\'triple single\'\'\' and a trailing quote"',
    "back\\slash \\n \\x00 \\N{BULLET} and a trailing backslash\\",
    "line one\nline two\r\nline three\ttabbed\x0bvertical\x0cfeed",
    "{{ secret }} {% if x %}y{% endif %} {# comment #} ${HOME} $(id)",
    "*/ /* -- # <!-- --> <script>alert(1)</script> | pipe | `tick` ```fence```",
    "Café — 東京 😀 \u202eright-to-left\u202c \u2028separator \x00nul \ud800",
    "# heading\n- item\n1. first\n> quote",
    "x" * 10_000,
    "word " * 2_000,
)

REQUIREMENTS: dict[str, Any] = {
    "title": "Managed vFirewall",
    "blueprint": "Network service",
    "requirements": {
        "service_type": {"label": "Service type", "value": "vFirewall"},
        "vendor": {"label": "Vendor", "value": "Cisco"},
        "features": {"label": "Features", "value": ["Stateful filtering", "NAT", "High availability"]},
        "pricing_model": {"label": "Pricing model", "value": "Per instance per month"},
        "api_docs": {"label": "API and integration docs", "value": None},
    },
}


def hostile_requirements(title: str = 'The "Best" \\ Service\n{{ title }}') -> dict[str, Any]:
    rows: dict[str, Any] = {
        f"text_{index}": {"label": text[:300], "value": text} for index, text in enumerate(HOSTILE_TEXTS)
    }
    rows["vendor"] = {"label": "Vendor", "value": HOSTILE_TEXTS[0]}
    rows["choices"] = {"label": "Choices ' \" \\", "value": [*HOSTILE_TEXTS, HOSTILE_TEXTS[0]]}
    rows["json"] = {"label": "A key that shadows BaseModel.json", "value": ["a", "b"]}
    rows["customer"] = {"label": "A key named like the customer field", "value": ["x"]}
    rows["nested"] = {"label": "Nested", "value": {"a": [1, 2.5, True, None], "b": {"c": HOSTILE_TEXTS[1]}}}
    rows["number"] = {"label": "Number", "value": 42}
    rows["flag"] = {"label": "Flag", "value": False}
    rows['weird key "with" quotes\n'] = {"label": "Weird key", "value": "ok"}
    return {"title": title, "blueprint": HOSTILE_TEXTS[4], "requirements": rows}


def hostile_workflow() -> dict[str, Any]:
    """Activities with awkward names (quotes, keywords, builtins, duplicates, non-ASCII) and
    inputs named like the request's own fields."""
    names = ['Provision "FW" \\ {{x}}', "class", "list", "東京", "Provision FW", "ProvisionFW", "ProvisionFW"]
    nodes = [
        node(f"n{index}", "activity", activity_name=name, input_mapping={"a b": "x", "customer": "y"})
        for index, name in enumerate(names)
    ]
    nodes[0]["label"] = HOSTILE_TEXTS[1]
    nodes[1]["config"]["output_variable"] = "result"
    variables = [
        variable("customer", required=True),
        variable("json", "object", required=True),
        variable("model_name", "number", default_value=3),
        variable("tags", "array", default_value=["a"]),
        variable("flag", "boolean", default_value="not a boolean"),
        variable("note", description=HOSTILE_TEXTS[2]),
    ]
    return dict(workflow(nodes, chain(*(f"n{index}" for index in range(len(names)))), variables))


def plain_spec() -> ServiceSpec:
    return build_spec(requirements=REQUIREMENTS, workflow=None)


def workflow_spec() -> ServiceSpec:
    """A published-like workflow that compiles: the service includes its Go code."""
    return build_spec(requirements=REQUIREMENTS, workflow=dict(load_fixture("order_approval")))


def hostile_spec(title: str = 'The "Best" \\ Service\n{{ title }}') -> ServiceSpec:
    return build_spec(requirements=hostile_requirements(title), workflow=hostile_workflow())


SPECS: dict[str, Callable[[], ServiceSpec]] = {
    "plain": plain_spec,
    "workflow": workflow_spec,
    "hostile": hostile_spec,
    "punctuation_title": lambda: hostile_spec("!!! ??? ..."),
    "keyword_title": lambda: build_spec(requirements={**REQUIREMENTS, "title": "class"}, workflow=None),
    "empty": lambda: build_spec(requirements={}, workflow=None),
}
