"""Checking generated Go: gofmt, a type check against the SDK stand-in, and a small lexer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

GOFMT = shutil.which("gofmt")
GO = shutil.which("go")
SDK_STUB = Path(__file__).resolve().parent / "go_sdk_stub"

requires_gofmt = pytest.mark.skipif(
    GOFMT is None, reason="gofmt is not installed (CI installs the Go toolchain)"
)
requires_go = pytest.mark.skipif(
    GO is None or GOFMT is None, reason="the Go toolchain is not installed (CI installs it)"
)


def gofmt_report(directory: Path) -> tuple[list[str], str, int]:
    """Files gofmt would change, its error output (parse errors) and its exit status."""
    assert GOFMT is not None
    result = subprocess.run([GOFMT, "-l", "-e", str(directory)], capture_output=True, text=True, check=False)
    return result.stdout.split(), result.stderr, result.returncode


def go_vet(directory: Path) -> subprocess.CompletedProcess[str]:
    """Type-check and vet the Go files in `directory` against the SDK stand-in, offline."""
    assert GO is not None
    (directory / "go.mod").write_text(
        "module sce.invalid/generated\n\ngo 1.19\n\nrequire go.temporal.io/sdk v0.0.0\n\n"
        f"replace go.temporal.io/sdk => {SDK_STUB}\n"
    )
    environment = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local"}
    if not any(os.environ.get(name) for name in ("GOCACHE", "XDG_CACHE_HOME", "HOME")):
        environment["GOCACHE"] = str(directory.parent / "gocache")
    return subprocess.run(
        [GO, "vet", "./..."], cwd=directory, capture_output=True, text=True, check=False, env=environment
    )


@dataclass(frozen=True)
class Token:
    kind: str  # comment, string, raw_string, rune, ident, number, punct, space, invalid
    text: str
    offset: int


_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\n]+)
    | (?P<comment>//[^\n]*|/\*.*?\*/)
    | (?P<string>"(?:[^"\\\n]|\\.)*")
    | (?P<raw_string>`[^`]*`)
    | (?P<rune>'(?:[^'\\\n]|\\.)+')
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<number>[0-9][0-9a-fA-FxX._eEpP+-]*)
    | (?P<punct>[-+*/%&|^<>=!:.,;()\[\]{}~])
    """,
    re.VERBOSE | re.DOTALL,
)


def go_tokens(source: str) -> list[Token]:
    """Tokens of Go source; anything the lexer does not know is an `invalid` token."""
    tokens: list[Token] = []
    index = 0
    while index < len(source):
        match = _TOKEN.match(source, index)
        if match is None or match.lastgroup is None:
            tokens.append(Token("invalid", source[index], index))
            index += 1
            continue
        tokens.append(Token(match.lastgroup, match.group(0), index))
        index = match.end()
    return tokens


_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34, "'": 39}


def go_unquote(literal: str) -> str:
    """The value of a Go interpreted string literal (like strconv.Unquote)."""
    assert literal.startswith('"'), literal
    assert literal.endswith('"'), literal
    body = literal[1:-1]
    data = bytearray()
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            data += char.encode("utf-8")
            index += 1
            continue
        kind = body[index + 1]
        if kind in _SIMPLE_ESCAPES:
            data.append(_SIMPLE_ESCAPES[kind])
            index += 2
        elif kind == "x":
            data.append(int(body[index + 2 : index + 4], 16))
            index += 4
        elif kind in "01234567":
            data.append(int(body[index + 1 : index + 4], 8))
            index += 4
        elif kind in "uU":
            width = 4 if kind == "u" else 8
            code = int(body[index + 2 : index + 2 + width], 16)
            assert not 0xD800 <= code <= 0xDFFF, "Go rejects surrogate escapes"
            data += chr(code).encode("utf-8")
            index += 2 + width
        else:
            raise AssertionError(f"invalid escape \\{kind} in {literal}")
    return data.decode("utf-8")
