"""Reading a built-in's arguments by name, each checked, every problem a `bad_arguments` error.

The arguments come from a node's input mapping, whose templates render to text unless a value
is exactly one `{{placeholder}}`: so a number or a yes/no is also accepted as text holding one
(`"30"`, `"true"`), while objects and lists must arrive as values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from runs.activities.spec import ActivityError, ArgumentSpec


class Arguments:
    """The arguments one built-in was given: unknown names and missing required ones refused
    up front, the rest read through typed getters."""

    def __init__(self, builtin: str, given: dict[str, Any], specs: Iterable[ArgumentSpec]) -> None:
        self.builtin = builtin
        specs = tuple(specs)
        known = {spec.name for spec in specs}
        unknown = sorted(name for name in given if name not in known)
        if unknown:
            raise self.error(
                f"does not take {_names(unknown)}; its arguments are {_names(spec.name for spec in specs)}"
            )
        # A null (an unset variable) counts as not given: required ones are refused, optional
        # ones take their default.
        self._given = {name: value for name, value in given.items() if value is not None}
        missing = [spec.name for spec in specs if spec.required and spec.name not in self._given]
        if missing:
            raise self.error(f"needs {_names(missing)}")

    def error(self, problem: str) -> ActivityError:
        """A bad_arguments error, its message starting with the built-in's name."""
        return ActivityError("bad_arguments", f"{self.builtin} {problem}.", retryable=False)

    def invalid(self, name: str, problem: str) -> ActivityError:
        """A bad_arguments error about one argument: "`name` must be ..."."""
        return self.error(f"argument `{name}` {problem}")

    def has(self, name: str) -> bool:
        return name in self._given

    def value(self, name: str, default: Any = None) -> Any:
        """The argument as given, any JSON value."""
        return self._given.get(name, default)

    def text(self, name: str, default: str | None = None, *, max_length: int | None = None) -> str:
        value = self._given.get(name, default)
        if not isinstance(value, str):
            raise self.invalid(name, f"must be text, not {_kind(value)}")
        if max_length is not None and len(value) > max_length:
            raise self.invalid(name, f"must be at most {max_length:,} characters long")
        return value

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        """One of `options`, compared without regard to case; returned as the option spells it."""
        value = self.text(name, default)
        for option in options:
            if value.strip().lower() == option.lower():
                return option
        raise self.invalid(name, f"must be one of {', '.join(options)}, not {value!r}")

    def number(
        self, name: str, default: float, *, minimum: float, maximum: float, above_minimum: bool = False
    ) -> float:
        """A finite number in [minimum, maximum] (or (minimum, maximum] with `above_minimum`)."""
        value = self._given.get(name, default)
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise self.invalid(name, f"must be a number, not {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.invalid(name, f"must be a number, not {_kind(value)}")
        number: float = value
        if not math.isfinite(number):
            raise self.invalid(name, "must be a finite number")
        low_ok = number > minimum if above_minimum else number >= minimum
        if not low_ok or number > maximum:
            low = f"more than {_spelled(minimum)}" if above_minimum else f"at least {_spelled(minimum)}"
            raise self.invalid(name, f"must be {low} and at most {_spelled(maximum)}, not {_spelled(number)}")
        return number

    def whole_number(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self.number(name, default, minimum=minimum, maximum=maximum)
        if value != int(value):
            raise self.invalid(name, f"must be a whole number, not {_spelled(value)}")
        return int(value)

    def text_map(self, name: str) -> dict[str, str]:
        """An object whose values are all text (headers); empty when not given."""
        value = self._given.get(name, {})
        if not isinstance(value, dict):
            raise self.invalid(name, f"must be an object of text values, not {_kind(value)}")
        for key, item in value.items():
            if not isinstance(item, str):
                raise self.invalid(name, f"must hold only text values; {key!r} is {_kind(item)}")
        return dict(value)


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _spelled(number: float) -> str:
    """1000000 as "1,000,000", 0.5 as "0.5"."""
    return f"{int(number):,}" if number == int(number) else f"{number:g}"


def _kind(value: object) -> str:
    """What a JSON value is, in words: "an object", "a list", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"
