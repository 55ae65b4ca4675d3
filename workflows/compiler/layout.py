"""Column alignment exactly as gofmt does it, so the generated code is gofmt-clean as written.

gofmt aligns the values of consecutive single-line `Key: value` elements of a composite
literal (a multi-line element ends the run and is not padded), and the name / type / tag
columns of consecutive struct fields. Keys here are Go field names of at most 40 characters,
below which gofmt's key-length heuristic never breaks a run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def key_values(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """`Key: value,` lines; a value may span lines (its later lines already indented)."""
    lines: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(key) for key, _ in run), default=0)
        lines.extend(f"{key}:{' ' * (width - len(key) + 1)}{value}," for key, value in run)
        run.clear()

    for key, value in pairs:
        if "\n" in value:
            flush()
            lines.append(f"{key}: {value},")
        else:
            run.append((key, value))
    flush()
    return [line for chunk in lines for line in chunk.split("\n")]


def struct_fields(rows: Sequence[tuple[str, str, str]]) -> list[str]:
    """Struct field lines (name, type, tag) in aligned columns."""
    name_width = max((len(name) for name, _, _ in rows), default=0)
    type_width = max((len(go_type) for _, go_type, _ in rows), default=0)
    return [f"{name.ljust(name_width)} {go_type.ljust(type_width)} {tag}" for name, go_type, tag in rows]


_WHITESPACE_LINES = re.compile(r"\n[ \t]+(?=\n)")
# A blank line before an indented line, except the second import group's first line.
_BLANK_BEFORE_INDENTED = re.compile(r"\n(?=\n\t[^\"])")


def tidy(code: str) -> str:
    """Normalise blank lines: one between top-level declarations and import groups, none
    inside bodies. Templates can then space their blocks freely.

    Only whole blank lines are touched (the templates end no other line with a blank), so
    no string literal changes. Plain string replacement where it will do: on multi-megabyte
    output it is several times faster than regular expressions.
    """
    code = _WHITESPACE_LINES.sub("\n", code)
    while "\n\n\n" in code:
        code = code.replace("\n\n\n", "\n\n")
    code = _BLANK_BEFORE_INDENTED.sub("", code)
    for opening in ("{\n\n", "(\n\n"):
        code = code.replace(opening, opening[:-1])
    for closing in ("\n\n}", "\n\n)"):
        code = code.replace(closing, closing[1:])
    return code.strip("\n") + "\n"
