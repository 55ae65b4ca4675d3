"""Evaluating conditions and `{{placeholder}}` templates over a run's variables.

The language is parsed in `workflows.dsl.expressions`; this gives parsed expressions their
values, with the semantics of the helpers the Go compiler emits (`lookup`, `number`,
`truthy`, `compare` and `text` in workflows/compiler/templates/runtime.go.j2), so the
interpreter and an exported Go worker take the same branches and render the same text.

Values are decoded JSON. Where Python holds a value differently from Go, the Go reading wins:

- Go decodes every JSON number to a float64, so an int counts as the nearest float (beyond
  2**53 it loses digits as it would in Go; one too large for a float counts as infinite),
  for comparisons and for text alike. A bool is never a number.
- `==`/`!=` compare two numbers by value, two strings exactly, anything else by JSON equality
  (Go's `reflect.DeepEqual` on decoded JSON: same shape, numbers by value, `true != 1`);
  `<`, `<=`, `>`, `>=` hold only between two numbers or two strings (code point order, which
  is Go's UTF-8 byte order).
- Text is Go's `encoding/json` output: no spaces, keys sorted, `3.0` as `3`, `1e21` as
  `1e+21`, `<`, `>`, `&` as `\\u003c`, `\\u003e`, `\\u0026` (Go 1.22 and later, which write `\\b`
  and `\\f` as such; earlier ones wrote `\\u0008` and `\\u000c`). Null, and a path that leads
  nowhere, insert nothing. A value Go cannot write as JSON (a NaN or an infinity inside)
  is written as Go's `fmt.Sprint` would.
- A template that is one placeholder and nothing else gives the value itself, as the Go
  compiler's input mapping values do; prompts, titles and the like ask for text.

Values of any depth are walked in loops, never by recursion; expressions nest at most
`expressions.MAX_DEPTH` levels, and a long `&&`/`||` chain is walked in a loop too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workflows.dsl.expressions import (
    Comparison,
    Expression,
    Literal,
    Logical,
    Not,
    Reference,
    TemplatePart,
    parse_expression,
    parse_template,
)

_ORDER_HOLDS: dict[str, Callable[[int], bool]] = {
    "==": lambda order: order == 0,
    "!=": lambda order: order != 0,
    "<": lambda order: order < 0,
    "<=": lambda order: order <= 0,
    ">": lambda order: order > 0,
    ">=": lambda order: order >= 0,
}
# What Go's encoding/json escapes beyond what Python's does (it is safe in HTML).
_GO_STRING_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def lookup(path: Sequence[str], scope: Mapping[str, Any]) -> Any:
    """A variable, then the fields named by the rest of the path; None when any step is
    missing or is not an object (lists are not indexed, as in Go)."""
    value: Any = scope
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def truthy(value: Any) -> bool:
    """The truth of a value in conditions: null, false, 0, "" and empty lists and objects are
    false; anything else (NaN included, as in Go) is true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) > 0
    number = _number(value)
    if number is not None:
        return number != 0
    return True


def compare(operator: str, left: Any, right: Any) -> bool:
    """A comparison of the language (`==`, `!=`, `<`, `<=`, `>`, `>=`) between two values."""
    left_number, right_number = _number(left), _number(right)
    if left_number is not None and right_number is not None:
        # As in Go: a NaN is neither less nor greater, so it counts as equal.
        order = -1 if left_number < right_number else 1 if left_number > right_number else 0
    elif isinstance(left, str) and isinstance(right, str):
        order = -1 if left < right else 1 if left > right else 0
    elif operator == "==":
        return json_equal(left, right)
    elif operator == "!=":
        return not json_equal(left, right)
    else:
        return False
    return _ORDER_HOLDS[operator](order)


def json_equal(left: Any, right: Any) -> bool:
    """Whether two decoded JSON values are equal as Go's `reflect.DeepEqual` finds them once
    decoded: the same shape, numbers by value (a NaN equals nothing), a bool never a number."""
    pending: list[tuple[Any, Any]] = [(left, right)]
    while pending:
        one, other = pending.pop()
        if one is other and isinstance(one, list | tuple | Mapping):
            continue  # the same object, as Go's DeepEqual shortcut for one map or slice
        one_number, other_number = _number(one), _number(other)
        if one_number is not None or other_number is not None:
            if one_number != other_number:  # also when only one is a number
                return False
        elif isinstance(one, Mapping):
            if not isinstance(other, Mapping) or len(one) != len(other):
                return False
            for key, item in one.items():
                if key not in other:
                    return False
                pending.append((item, other[key]))
        elif isinstance(one, list | tuple):
            if not isinstance(other, list | tuple) or len(one) != len(other):
                return False
            pending.extend(zip(one, other, strict=True))
        elif type(one) is not type(other) or one != other:
            return False
    return True


def evaluate(expression: Expression, scope: Mapping[str, Any]) -> Any:
    """The value of an expression: a literal's value, a reference's looked-up value, and a
    bool for a comparison, `!`, `&&` or `||`."""
    if isinstance(expression, Literal):
        return expression.value
    if isinstance(expression, Reference):
        return lookup(expression.path, scope)
    if isinstance(expression, Not):
        return not condition_holds(expression.operand, scope)
    if isinstance(expression, Comparison):
        return compare(
            expression.operator, evaluate(expression.left, scope), evaluate(expression.right, scope)
        )
    if isinstance(expression, Logical):
        return _logical(expression, scope)
    raise TypeError(f"not an expression: {expression!r}")


def _logical(expression: Logical, scope: Mapping[str, Any]) -> bool:
    # `a && b && c …` parses as a chain down the left; it is walked in a loop, not by
    # recursion, as a condition may be a long list of clauses without parentheses.
    clauses: list[tuple[str, Expression]] = []
    node: Expression = expression
    while isinstance(node, Logical):
        clauses.append((node.operator, node.right))
        node = node.left
    result = condition_holds(node, scope)
    for operator, right in reversed(clauses):
        if operator == "&&":
            result = result and condition_holds(right, scope)
        else:
            result = result or condition_holds(right, scope)
    return result


def condition_holds(expression: Expression, scope: Mapping[str, Any]) -> bool:
    """Whether a condition holds: the truth of its value."""
    return truthy(evaluate(expression, scope))


def holds(text: str, scope: Mapping[str, Any]) -> bool:
    """Whether the condition in `text` holds; raises ExpressionError when it does not parse."""
    return condition_holds(parse_expression(text), scope)


def render_template(parts: Sequence[TemplatePart], scope: Mapping[str, Any], *, as_text: bool = False) -> Any:
    """A template's text, each `{{ path }}` replaced by its value as `text_of` writes it.

    A template that is one placeholder and nothing else (`"{{order}}"`) gives the value
    itself, of any type (None when the path leads nowhere), so an input mapping passes an
    object on as an object; the Go compiler does the same for input mapping values
    (`go_input_value`). Prompts, titles and other places that need text pass `as_text=True`,
    as the Go compiler writes those with `go_text`, always text.
    """
    if not as_text and len(parts) == 1 and isinstance(parts[0], Reference):
        return lookup(parts[0].path, scope)
    return "".join(part if isinstance(part, str) else text_of(lookup(part.path, scope)) for part in parts)


def render_text(text: str, scope: Mapping[str, Any], *, as_text: bool = False) -> Any:
    """`render_template` of a template given as text; raises ExpressionError when it does not
    parse."""
    return render_template(parse_template(text), scope, as_text=as_text)


def text_of(value: Any) -> str:
    """A value as a template inserts it: a string as it is, null as nothing, anything else as
    compact JSON the way Go writes it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    encoded = _go_json(value)
    return encoded if encoded is not None else _go_print(value)


def _number(value: Any) -> float | None:
    """The value as Go's `number` reads it (a float64), None when it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return None


class _Raw(str):
    """Text already written, on the stack of values still to write."""


class _Unwritable(Exception):
    """A value the dialect cannot write (Go's json.Marshal refuses it)."""


@dataclass(frozen=True)
class _Dialect:
    """How Go writes decoded JSON one way: `json.Marshal` or `fmt.Sprint`."""

    null: str
    string: Callable[[str], str]
    number: Callable[[float], str]
    key: Callable[[Any], str]  # an object key with its separator
    sort_key: Callable[[tuple[Any, Any]], Any]
    map_opening: str
    map_closing: str
    separator: str
    other: Callable[[Any], str]


def _json_number(number: float) -> str:
    if not math.isfinite(number):
        raise _Unwritable
    return _go_json_number(number)


def _json_sort_key(entry: tuple[Any, Any]) -> str:
    key = entry[0]
    if not isinstance(key, str):  # checked before sorting: mixed key types do not compare
        raise _Unwritable
    return key


def _unwritable(_value: Any) -> str:
    raise _Unwritable


def _go_json(value: Any) -> str | None:
    """The value as Go's `json.Marshal` writes it, None when Go could not (a non-finite
    number, an object key that is not text, a value that is not JSON)."""
    try:
        return _go_write(value, _JSON)
    except _Unwritable:
        return None


def _go_print(value: Any) -> str:
    """The value as Go's `fmt.Sprint` writes decoded JSON: `map[a:1 b:[x y]]`."""
    return _go_write(value, _PRINT)


def _go_write(value: Any, dialect: _Dialect) -> str:
    # A stack, not recursion: a deeply nested value must not hit Python's recursion limit.
    pieces: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            pieces.append(item)
        elif item is None:
            pieces.append(dialect.null)
        elif isinstance(item, bool):
            pieces.append("true" if item else "false")
        elif isinstance(item, str):
            pieces.append(dialect.string(item))
        elif (number := _number(item)) is not None:
            pieces.append(dialect.number(number))
        elif isinstance(item, Mapping):
            entries = sorted(item.items(), key=dialect.sort_key)
            stack.append(_Raw(dialect.map_closing))
            for index, (key, child) in enumerate(reversed(entries)):
                stack.append(child)
                stack.append(_Raw(dialect.key(key)))
                if index < len(entries) - 1:
                    stack.append(_Raw(dialect.separator))
            stack.append(_Raw(dialect.map_opening))
        elif isinstance(item, list | tuple):
            _push_items(stack, item, "[", dialect.separator, "]")
        else:
            pieces.append(dialect.other(item))
    return "".join(pieces)


def _push_items(stack: list[Any], items: Sequence[Any], opening: str, separator: str, closing: str) -> None:
    stack.append(_Raw(closing))
    for index, child in enumerate(reversed(items)):
        if index:
            stack.append(_Raw(separator))
        stack.append(child)
    stack.append(_Raw(opening))


def _go_json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).translate(_GO_STRING_ESCAPES)


def _go_json_number(number: float) -> str:
    """A finite float64 as encoding/json writes it: shortest digits, plain notation from 1e-6
    up to 1e21, otherwise an exponent (`1e+21`, `1e-7`)."""
    if number == 0:
        return "-0" if math.copysign(1, number) < 0 else "0"
    negative, digits, point = _shortest_digits(number)
    magnitude = abs(number)
    if magnitude < 1e-6 or magnitude >= 1e21:
        return _with_exponent(negative, digits, point, exponent_width=1)
    return _plain(negative, digits, point)


def _go_print_number(number: float) -> str:
    """A float64 as `fmt.Sprint` writes it (`%v`: strconv's shortest `g`)."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "-0" if math.copysign(1, number) < 0 else "0"
    negative, digits, point = _shortest_digits(number)
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        return _with_exponent(negative, digits, point, exponent_width=2)
    return _plain(negative, digits, point)


def _shortest_digits(number: float) -> tuple[bool, str, int]:
    """The shortest digits that read back as `number` (Python's repr and Go's strconv find
    the same ones), and where the point goes: the value is 0.<digits> times 10**point."""
    mantissa, _, exponent_text = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    stripped = digits.rstrip("0")
    exponent = int(exponent_text or 0) - len(fraction) + len(digits) - len(stripped)
    return number < 0, stripped, len(stripped) + exponent


def _plain(negative: bool, digits: str, point: int) -> str:
    if point <= 0:
        text = "0." + "0" * -point + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    return ("-" if negative else "") + text


def _with_exponent(negative: bool, digits: str, point: int, *, exponent_width: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exponent = point - 1
    sign = "-" if exponent < 0 else "+"
    # encoding/json trims `e-07` to `e-7`, fmt keeps two digits; a positive exponent here
    # always has two.
    return f"{'-' if negative else ''}{mantissa}e{sign}{abs(exponent):0{exponent_width}d}"


# The two ways Go writes a decoded value (defined last: they name the writers above).
_JSON = _Dialect(
    null="null",
    string=_go_json_string,
    number=_json_number,
    key=lambda key: _go_json_string(key) + ":",
    sort_key=_json_sort_key,
    map_opening="{",
    map_closing="}",
    separator=",",
    other=_unwritable,
)
_PRINT = _Dialect(
    null="<nil>",
    string=lambda text: text,
    number=_go_print_number,
    key=lambda key: f"{key}:",
    sort_key=lambda entry: str(entry[0]),
    map_opening="map[",
    map_closing="]",
    separator=" ",
    other=str,
)
