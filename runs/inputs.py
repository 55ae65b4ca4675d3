"""A run's inputs read against the workflow's variables: names known, types right, defaults.

Values come either typed (decoded JSON from the API or a webhook) or as text (a web form,
`--input name=value` on the command line), which is read by the variable's type: a number
from "12", "1.5" or "-3e2"; true or false from true/false, yes/no or 1/0 (any case); an
object or a list from JSON; text as it is. In both, a variable given null or blank text
counts as not given: a required one is refused, an optional one takes its default (or stays
unset without one), as the generated Go workflow does with a nil optional input. All the
values together may be at most MAX_INPUT_BYTES of JSON (or text typed), and none may nest
deeper than a workflow document may.

Everything wrong is reported at once, a sentence per variable, so a form can show each next
to its field.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from workflows.dsl.documents import MAX_DOCUMENT_DEPTH, too_deep
from workflows.dsl.json_values import json_value_problem

# All values given, as JSON (or as the text typed), together.
MAX_INPUT_BYTES = 1_000_000

_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_BOOLEAN_TEXT = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_FLOAT64_MAX = 1.7976931348623157e308
_SHOWN_CHARACTERS = 40
_NESTED_TOO_DEEPLY = f"Nested too deeply: at most {MAX_DOCUMENT_DEPTH} levels of objects and lists."
# What a number or a bool counts for in the size limit (a float64's longest JSON is 24 bytes).
_SCALAR_BYTES = 24
# More digits than the largest float64 has (309); Python also refuses to read much longer ints.
_MAX_INTEGER_DIGITS = 330


class RunInputError(ValueError):
    """Inputs a run cannot start with: a plain-English sentence per variable name."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """Every problem, each after the name it is about."""
        return " ".join(f"{name}: {_lower_first(problem)}" for name, problem in self.problems.items())


class _Refused(Exception):
    """Why one value cannot be read (within this module only)."""


def parse_run_inputs(
    variables: Sequence[Mapping[str, Any]], given: Mapping[str, Any], *, as_text: bool = False
) -> dict[str, Any]:
    """The run's inputs from `given`, checked against the workflow's variables (their dicts:
    `name`, `variable_type`, `default_value`, `required`); raises RunInputError.

    With `as_text`, text values are read by each variable's type; values that are not text
    are checked as typed values.
    """
    declared = {str(variable["name"]): variable for variable in variables}
    problems = {
        str(name): f"This workflow has no input named {_shown(str(name))}."
        for name in given
        if name not in declared
    }
    _check_sizes({name: value for name, value in given.items() if name in declared}, as_text, problems)
    inputs: dict[str, Any] = {}
    for name, variable in declared.items():
        if name in problems:
            continue
        value = given.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if variable.get("required"):
                problems[name] = "A value is needed."
            elif variable.get("default_value") is not None:
                inputs[name] = copy.deepcopy(variable["default_value"])
            continue
        read = _TEXT_READERS if as_text and isinstance(value, str) else _VALUE_CHECKS
        reader = read.get(str(variable.get("variable_type")))
        try:
            inputs[name] = reader(value) if reader is not None else value
        except _Refused as refused:
            problems[name] = str(refused)
    if problems:
        raise RunInputError(problems)
    return inputs


def _check_sizes(given: Mapping[str, Any], as_text: bool, problems: dict[str, str]) -> None:
    """Refuse objects and lists that are not plain JSON or are nested too deeply, then all
    the values when together they are too large: the text typed, or the value as JSON."""
    sizes: dict[str, int] = {}
    for name, value in given.items():
        if isinstance(value, str):
            sizes[name] = len(value.encode("utf-8", "surrogatepass")) + (0 if as_text else 2)
        elif isinstance(value, dict | list):
            # Checked before it is measured: json.dumps recurses, the check does not.
            if (problem := _json_problem(value)) is not None:
                problems[name] = problem
                continue
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            sizes[name] = len(text.encode("utf-8", "surrogatepass"))
        else:
            sizes[name] = _SCALAR_BYTES  # a number, true or false: the type check refuses the rest
    total = sum(sizes.values())
    if total > MAX_INPUT_BYTES:
        largest = max(sizes, key=lambda name: sizes[name])
        problems[largest] = (
            f"Too large: the inputs together may be at most {MAX_INPUT_BYTES / 1_000_000:g} MB, "
            f"and they come to {total / 1_000_000:.1f} MB."
        )
        raise RunInputError(problems)


# Typed values -------------------------------------------------------------------------


def _number(value: Any, *, typed: str | None = None) -> int | float:
    """The number, refused when it is not one or is out of a float64's range; `typed` is the
    text it was read from, which a problem shows rather than the number."""
    shown = _shown(value if typed is None else typed)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN
        raise _Refused(f"A number is needed, got {shown}.")
    number: int | float = value
    if abs(number) > _FLOAT64_MAX:  # infinite, or too large for a Go worker's float64
        raise _Refused(f"A number is needed that is not too large, got {shown}.")
    return number


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Refused(f"True or false is needed, got {_shown(value)}.")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Refused(f"Text is needed, got {_shown(value)}.")
    return value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Refused(f"A JSON object is needed, got {_shown(value)}.")
    return value


def _array(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Refused(f"A JSON list is needed, got {_shown(value)}.")
    return value


_VALUE_CHECKS: dict[str, Callable[[Any], Any]] = {
    "number": _number,
    "boolean": _boolean,
    "string": _string,
    "object": _object,
    "array": _array,
}


# Values typed as text -----------------------------------------------------------------


def _number_text(text: str) -> int | float:
    stripped = text.strip()
    if _INTEGER_TEXT.fullmatch(stripped):
        if len(stripped) > _MAX_INTEGER_DIGITS:
            raise _Refused(f"A number is needed that is not too large, got {_shown(text)}.")
        return _number(int(stripped), typed=text)
    if _NUMBER_TEXT.fullmatch(stripped):
        return _number(float(stripped), typed=text)
    raise _Refused(f"A number is needed, got {_shown(text)}.")


def _boolean_text(text: str) -> bool:
    value = _BOOLEAN_TEXT.get(text.strip().lower())
    if value is None:
        raise _Refused(f"True or false is needed (true/false, yes/no or 1/0), got {_shown(text)}.")
    return value


def _json_text(check: Callable[[Any], Any]) -> Callable[[str], Any]:
    def read(text: str) -> Any:
        try:
            value = json.loads(text, parse_constant=_no_constant)
        except RecursionError:
            raise _Refused(_NESTED_TOO_DEEPLY) from None
        except ValueError as error:
            raise _Refused(f"This is not JSON: {error}.") from None
        checked = check(value)
        if (problem := _json_problem(checked)) is not None:
            raise _Refused(problem)
        return checked

    return read


def _json_problem(value: Any) -> str | None:
    """Why an object or list cannot be an input: nested deeper than a workflow document may
    be, or not plain JSON that a Go worker could hold too."""
    if too_deep(value) is not None:
        return _NESTED_TOO_DEEPLY
    # Deeper than that was refused above, so only the values are checked here.
    problem = json_value_problem(value, MAX_DOCUMENT_DEPTH + 1)
    return f"The value {problem}." if problem is not None else None


def _no_constant(name: str) -> Any:
    # json.loads would read NaN and Infinity, which are not JSON.
    raise ValueError(f"{name} is not a JSON value")


_TEXT_READERS: dict[str, Callable[[Any], Any]] = {
    "number": _number_text,
    "boolean": _boolean_text,
    "string": _string,
    "object": _json_text(_object),
    "array": _json_text(_array),
}


def _shown(value: Any) -> str:
    """A value given, as a sentence names it."""
    if isinstance(value, str):
        shown = value if len(value) <= _SHOWN_CHARACTERS else value[: _SHOWN_CHARACTERS - 1] + "…"
        return f"“{shown}”"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) or abs(value) < 10**30 else "a number of many digits"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _lower_first(sentence: str) -> str:
    """The sentence to follow a name: "A value is needed." as "a value is needed.", while a
    word like JSON keeps its capitals."""
    first_word = sentence.split(" ", 1)[0]
    if len(first_word) > 1 and first_word[1].isupper():
        return sentence
    return sentence[:1].lower() + sentence[1:]
