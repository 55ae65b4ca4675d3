"""Go identifiers derived from user text: `[A-Za-z_][A-Za-z0-9_]*`, unique, never a keyword."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

GO_KEYWORDS = frozenset(
    [
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "fallthrough",
        "for",
        "func",
        "go",
        "goto",
        "if",
        "import",
        "interface",
        "map",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "type",
        "var",
    ]
)
# Shadowing these compiles, but makes the generated code misleading.
GO_PREDECLARED = frozenset(
    [
        "any",
        "bool",
        "byte",
        "comparable",
        "complex64",
        "complex128",
        "error",
        "float32",
        "float64",
        "int",
        "int8",
        "int16",
        "int32",
        "int64",
        "rune",
        "string",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "uintptr",
        "true",
        "false",
        "iota",
        "nil",
        "append",
        "cap",
        "clear",
        "close",
        "complex",
        "copy",
        "delete",
        "imag",
        "len",
        "make",
        "max",
        "min",
        "new",
        "panic",
        "print",
        "println",
        "real",
        "recover",
    ]
)
# Words written in capitals in Go names (Effective Go's initialisms).
_INITIALISMS = frozenset(
    ["ai", "api", "http", "https", "id", "ip", "json", "sql", "uri", "url", "uuid", "xml"]
)
_WORD = re.compile(r"[A-Za-z0-9]+")
MAX_LENGTH = 60


def pascal_case(text: str) -> str:
    """`order approval-id` -> `OrderApprovalID`; letters lose their accents, other text goes.

    May be empty or start with a digit; `IdentifierAllocator` deals with both.
    """
    # Node ids are nearly always ASCII already, for which NFKD changes nothing.
    ascii_text = text if text.isascii() else _without_accents(text)
    words = []
    for word in _WORD.findall(ascii_text):
        if word.lower() in _INITIALISMS:
            words.append(word.upper())
        else:
            words.append(word[0].upper() + word[1:])
    return "".join(words)[:MAX_LENGTH]


def _without_accents(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


class IdentifierAllocator:
    """Hands out distinct identifiers in one Go namespace (a package, a type's methods).

    A name already taken gets the lowest free numeric suffix; the order of requests decides
    who gets the plain name, so the same requests give the same names.
    """

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._taken = set(reserved) | GO_KEYWORDS | GO_PREDECLARED
        self._next_suffix: dict[str, int] = {}

    def allocate(self, text: str, *, prefix: str = "", fallback: str = "X") -> str:
        """A fresh identifier made of `prefix` and the words of `text`."""
        base = prefix + pascal_case(text)
        if not base:
            base = fallback
        elif base[0].isdigit():
            base = fallback + base
        candidate = base
        # Remembering the next suffix per base keeps many clashing names linear, not quadratic.
        suffix = self._next_suffix.get(base, 2)
        while candidate in self._taken:
            candidate = f"{base}{suffix}"
            suffix += 1
        self._next_suffix[base] = suffix
        self._taken.add(candidate)
        return candidate
