"""The filters that put user text into generated files: each keeps the text and the file intact."""

from __future__ import annotations

import ast
import tomllib

import pytest
import yaml

from codegen.targets import rendering
from tests.codegen.targets.specs import HOSTILE_TEXTS

ENCODABLE_TEXTS = [text.replace("\ud800", "?") for text in HOSTILE_TEXTS]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
@pytest.mark.parametrize("indent", [0, 2])
def test_python_string_is_a_literal_of_the_same_text(text: str, indent: int) -> None:
    source = f"value = {rendering.python_string(text, indent, prefix=8, suffix=0)}\n"
    tree = ast.parse(source)
    assert ast.literal_eval(tree.body[0].value) == text  # type: ignore[attr-defined]


def test_python_string_splits_what_does_not_fit_a_line() -> None:
    text = "word " * 40
    literal = rendering.python_string(text, indent=1, prefix=10)
    assert literal.startswith("(\n")
    assert all(len(line) <= rendering.LINE_LENGTH for line in literal.splitlines())
    assert rendering.python_string("short", indent=1, prefix=10) == '"short"'


def test_python_string_prefers_the_quote_that_needs_fewer_escapes() -> None:
    assert rendering.python_string('say "hi"') == "'say \"hi\"'"
    assert rendering.python_string("it's") == '"it\'s"'


@pytest.mark.parametrize(
    "value",
    [None, True, 0, -3, 2.5, "", [], {}, [1, [2, {"a": None}]], {'k "q"': ["x" * 300, {"n": 1.0}]}],
)
def test_python_literal_is_the_same_json_value(value: object) -> None:
    assert ast.literal_eval(rendering.python_literal(value)) == value


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_python_docline_stays_inside_its_docstring(text: str) -> None:
    line = rendering.python_docline(text, 60)
    docstring = ast.literal_eval(f'"""{line}"""')
    assert "\n" not in docstring
    assert rendering.display_width(line) <= 60


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_comment_is_one_line_that_closes_nothing(text: str) -> None:
    line = rendering.comment(text, 60)
    assert "\n" not in line
    assert "\r" not in line
    assert "*/" not in line
    assert not line.endswith("\\")


@pytest.mark.parametrize("text", ENCODABLE_TEXTS)
def test_yaml_string_loads_as_the_same_text(text: str) -> None:
    assert yaml.safe_load(f"key: {rendering.yaml_string(text)}\n") == {"key": text}


@pytest.mark.parametrize("text", ENCODABLE_TEXTS)
def test_toml_string_loads_as_the_same_text(text: str) -> None:
    assert tomllib.loads(f"key = {rendering.toml_string(text)}\n") == {"key": text}


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_dockerfile_string_is_one_quoted_line_without_expansions(text: str) -> None:
    value = rendering.dockerfile_string(text)
    assert "\n" not in value
    inner = value[1:-1]
    assert value.startswith('"')
    assert value.endswith('"')
    assert '"' not in inner.replace('\\"', "")
    assert "$" not in inner.replace("\\$", "")


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_markdown_text_has_no_markup_html_or_line_break(text: str) -> None:
    shown = rendering.markdown_text(text)
    assert "\n" not in shown
    assert "<" not in shown
    for mark in ("`", "*", "|", "[", "_"):
        assert mark not in shown.replace(f"\\{mark}", "")
    assert not shown.startswith(("#", "-", "1."))


def test_markdown_code_fences_around_any_backticks() -> None:
    assert rendering.markdown_code("a``b") == "```a``b```"
    assert rendering.markdown_code("`x") == "`` `x ``"
    assert rendering.markdown_code("str | None", table=True) == "`str \\| None`"


def test_the_environment_refuses_undefined_names() -> None:
    from pathlib import Path

    import jinja2

    env = rendering.environment(Path(__file__).parent)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
