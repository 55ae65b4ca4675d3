"""Go code for parsed conditions and templates.

Values are interface{} at run time, so comparisons and truth go through small helpers the
generated file defines (`e.compare`, `e.truthy`, `e.lookup`, `e.text`). Nested `&&`/`||`
are parenthesised; the outermost is not, as gofmt would remove those parentheses in `if`.
"""

from __future__ import annotations

import functools

from workflows.compiler.go_literals import go_float, go_string
from workflows.dsl.expressions import Comparison, Expression, Literal, Logical, Not, Reference, TemplatePart


def go_reference(reference: Reference) -> str:
    """The value a reference points at, nil when absent."""
    return _lookup(reference.path)


# The same variables are read all over a workflow: their Go is made once per path (bounded,
# but room for every variable of a 10,000-node workflow).
@functools.lru_cache(maxsize=16384)
def _lookup(path: tuple[str, ...]) -> str:
    return "e.lookup(" + ", ".join([go_string(part) for part in path]) + ")"


def _literal(value: object) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_string(value)
    if isinstance(value, int | float):
        return go_float(value)
    raise TypeError(f"not a literal: {value!r}")


def _value(expression: Expression) -> str:
    """Go of type interface{} (or bool) for an operand of a comparison."""
    if isinstance(expression, Literal):
        return _literal(expression.value)
    if isinstance(expression, Reference):
        return go_reference(expression)
    return _condition(expression, nested=True)


def _condition(expression: Expression, *, nested: bool) -> str:
    if isinstance(expression, Logical):
        text = (
            f"{_condition(expression.left, nested=True)} {expression.operator} "
            f"{_condition(expression.right, nested=True)}"
        )
        return f"({text})" if nested else text
    if isinstance(expression, Not):
        return "!" + _condition(expression.operand, nested=True)
    if isinstance(expression, Comparison):
        return (
            f"e.compare({go_string(expression.operator)}, "
            f"{_value(expression.left)}, {_value(expression.right)})"
        )
    if isinstance(expression, Literal) and isinstance(expression.value, bool):
        return "true" if expression.value else "false"
    return f"e.truthy({_value(expression)})"


def go_condition(expression: Expression) -> str:
    """A Go bool expression for a condition."""
    return _condition(expression, nested=False)


def go_text(parts: tuple[TemplatePart, ...]) -> str:
    """A Go string expression for a template."""
    if not parts:
        return '""'
    if len(parts) == 1 and isinstance(parts[0], str):
        return go_string(parts[0])
    rendered = [go_string(part) if isinstance(part, str) else _lookup(part.path) for part in parts]
    return "e.text(" + ", ".join(rendered) + ")"


def go_input_value(parts: tuple[TemplatePart, ...]) -> str:
    """An input mapping value: a lone `{{ref}}` keeps the value's type, anything else is text."""
    if len(parts) == 1 and isinstance(parts[0], Reference):
        return go_reference(parts[0])
    return go_text(parts)
