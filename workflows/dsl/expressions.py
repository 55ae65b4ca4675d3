r"""The condition language and `{{placeholder}}` templates, parsed into a small AST.

Grammar (whitespace between tokens is ignored)::

    expression := or
    or         := and ( "||" and )*
    and        := not ( "&&" not )*
    not        := "!" not | comparison          -- `!a == b` means `!(a == b)`
    comparison := operand ( ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) operand )?
    operand    := literal | reference | "(" expression ")"
    literal    := STRING | NUMBER | "-" NUMBER | "true" | "false" | "null"
    reference  := path | "{{" path "}}"
    path       := IDENT ( "." IDENT )*           -- a variable, then fields inside it
    IDENT      := [A-Za-z_][A-Za-z0-9_]*
    NUMBER     := [0-9]+ ( "." [0-9]+ )? ( [eE] [+-]? [0-9]+ )?
    STRING     := '"' ... '"' | "'" ... "'"      -- JSON's escapes (\" \\ \/ \b \f \n \r \t \uXXXX), and \'

Comparisons do not chain (`a < b < c` is an error). `==` and `!=` compare numbers by value
and everything else by JSON equality; `<` and friends compare two numbers or two strings and
are false for anything else. In `&&`, `||` and `!`, a value counts as false when it is null,
false, 0, "" or empty.

A template is text in which `{{ path }}` inserts a value; any other `{{` is an error.

Why hand-written: the grammar is a dozen lines, the standard library has nothing that parses
it (Python's `ast` would accept a far larger language that we would then have to police),
and the project takes no parser dependency for this. Errors carry the 0-based character
position so the editor can point at them.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal as TypingLiteral

MAX_DEPTH = 64

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
# JSON's escapes, and \' for single-quoted strings.
_ESCAPES = {
    "\\": "\\",
    '"': '"',
    "'": "'",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}

ComparisonOperator = TypingLiteral["==", "!=", "<", "<=", ">", ">="]
# The comparison operators by their text, typed as what a Comparison holds.
COMPARISONS: dict[str, ComparisonOperator] = {
    "==": "==",
    "!=": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
LogicalOperator = TypingLiteral["&&", "||"]
LiteralValue = str | float | bool | None
_KEYWORDS: dict[str, LiteralValue] = {"true": True, "false": False, "null": None}


class ExpressionError(ValueError):
    """A syntax error at `position` (0-based) in an expression or template."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.reason = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Literal:
    value: LiteralValue
    position: int


@dataclass(frozen=True, slots=True)
class Reference:
    path: tuple[str, ...]
    position: int

    @property
    def root(self) -> str:
        """The variable the reference starts from."""
        return self.path[0]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expression
    position: int


@dataclass(frozen=True, slots=True)
class Logical:
    operator: LogicalOperator
    left: Expression
    right: Expression
    position: int


@dataclass(frozen=True, slots=True)
class Comparison:
    operator: ComparisonOperator
    left: Expression
    right: Expression
    position: int


Expression = Literal | Reference | Not | Logical | Comparison
TemplatePart = str | Reference


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "op", "ident", "number", "string", "ref", "end"
    text: str
    position: int
    path: tuple[str, ...] = ()
    number: float = 0.0
    string: str = ""


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
    | (?P<ref>\{{\{{\s*(?P<ref_path>{_NAME}(?:\.{_NAME})*)\s*\}}\}})
    | (?P<bad_ref>\{{\{{)
    | (?P<ident>{_NAME}(?:\.{_NAME})*)
    | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>&&|\|\||==|!=|<=|>=|<|>|!|\(|\)|-)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(text):
        match = _TOKEN.match(text, index)
        if match is None:
            char = text[index]
            if char in "\"'":
                raise ExpressionError("unterminated string", index)
            if char == "." and tokens and tokens[-1].kind == "ident":
                raise ExpressionError("expected a name", index + 1)
            raise ExpressionError(f"unexpected character {char!r}", index)
        kind = match.lastgroup
        token = match.group(0)
        if kind == "ref":
            tokens.append(_Token("ref", token, index, path=tuple(match.group("ref_path").split("."))))
        elif kind == "bad_ref":
            raise ExpressionError("expected a variable name and `}}` after `{{`", index)
        elif kind == "ident":
            tokens.append(_Token("ident", token, index, path=tuple(token.split("."))))
        elif kind == "number":
            number = float(token)
            if not math.isfinite(number):
                raise ExpressionError("number out of range", index)
            tokens.append(_Token("number", token, index, number=number))
        elif kind == "string":
            tokens.append(_Token("string", token, index, string=_unescape(token[1:-1], index + 1)))
        elif kind == "op":
            tokens.append(_Token("op", token, index))
        index = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _unescape(body: str, offset: int) -> str:
    if "\\" not in body:
        return body

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape in _ESCAPES:
            return _ESCAPES[escape]
        if len(escape) == 5:  # uXXXX
            return chr(int(escape[1:], 16))
        raise ExpressionError("invalid escape in string", offset + match.start())

    value = _ESCAPE.sub(replace, body)
    if "\\u" in body:
        # As in JSON, a UTF-16 surrogate pair (\ud83d\ude08) is one character.
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def _accept(self, *operators: str) -> _Token | None:
        token = self.current
        if token.kind == "op" and token.text in operators:
            self.index += 1
            return token
        return None

    def _descend(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("expression nested too deeply", position)

    def parse(self) -> Expression:
        """The whole text as one expression."""
        if self.current.kind == "end":
            raise ExpressionError("empty expression", self.current.position)
        expression = self._or()
        if self.current.kind != "end":
            raise ExpressionError(f"unexpected {self.current.text!r}", self.current.position)
        return expression

    def _or(self) -> Expression:
        left = self._and()
        while operator := self._accept("||"):
            left = Logical("||", left, self._and(), operator.position)
        return left

    def _and(self) -> Expression:
        left = self._not()
        while operator := self._accept("&&"):
            left = Logical("&&", left, self._not(), operator.position)
        return left

    def _not(self) -> Expression:
        if operator := self._accept("!"):
            self._descend(operator.position)
            operand = self._not()
            self.depth -= 1
            return Not(operand, operator.position)
        return self._comparison()

    def _comparison(self) -> Expression:
        left = self._operand()
        operator = self._accept(*COMPARISONS)
        if operator is None:
            return left
        right = self._operand()
        if self.current.kind == "op" and self.current.text in COMPARISONS:
            raise ExpressionError("comparisons cannot be chained; use &&", self.current.position)
        return Comparison(COMPARISONS[operator.text], left, right, operator.position)

    def _operand(self) -> Expression:
        token = self.current
        if opening := self._accept("("):
            self._descend(opening.position)
            inner = self._or()
            self.depth -= 1
            if not self._accept(")"):
                raise ExpressionError("expected `)`", self.current.position)
            return inner
        if minus := self._accept("-"):
            number = self.current
            if number.kind != "number":
                raise ExpressionError("expected a number after `-`", number.position)
            self.index += 1
            return Literal(-number.number, minus.position)
        self.index += 1
        if token.kind == "number":
            return Literal(token.number, token.position)
        if token.kind == "string":
            return Literal(token.string, token.position)
        if token.kind == "ref":
            return Reference(token.path, token.position)
        if token.kind == "ident":
            if token.text in _KEYWORDS:
                return Literal(_KEYWORDS[token.text], token.position)
            return Reference(token.path, token.position)
        self.index -= 1
        what = "end of expression" if token.kind == "end" else repr(token.text)
        raise ExpressionError(f"expected a value, found {what}", token.position)


# Conditions and templates recur across a workflow ("{{order_id}}" in every input mapping);
# their parses are immutable, so short ones are kept. Errors are not cached, only raised.
_CACHED_LENGTH = 256


def parse_expression(text: str) -> Expression:
    """Parse a condition; raises ExpressionError with the position of the first problem."""
    return _cached_expression(text) if len(text) <= _CACHED_LENGTH else _Parser(text).parse()


@functools.lru_cache(maxsize=4096)
def _cached_expression(text: str) -> Expression:
    return _Parser(text).parse()


def parse_template(text: str) -> tuple[TemplatePart, ...]:
    """Split a template into literal text and references; raises ExpressionError."""
    if "{{" not in text:
        return (text,) if text else ()
    return _cached_template(text) if len(text) <= _CACHED_LENGTH else _parse_template(text)


@functools.lru_cache(maxsize=4096)
def _cached_template(text: str) -> tuple[TemplatePart, ...]:
    return _parse_template(text)


def _parse_template(text: str) -> tuple[TemplatePart, ...]:
    parts: list[TemplatePart] = []
    index = 0
    while (start := text.find("{{", index)) != -1:
        match = _PLACEHOLDER.match(text, start)
        if not match:
            raise ExpressionError("expected a variable name and `}}` after `{{`", start)
        if start > index:
            parts.append(text[index:start])
        parts.append(Reference(tuple(match.group(1).split(".")), start))
        index = match.end()
    if index < len(text):
        parts.append(text[index:])
    return tuple(parts)


def references(expression: Expression) -> Iterator[Reference]:
    """Every variable reference in an expression, left to right."""
    stack: list[Expression] = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, Reference):
            yield node
        elif isinstance(node, Not):
            stack.append(node.operand)
        elif isinstance(node, Logical | Comparison):
            stack.extend((node.right, node.left))


def is_identifier(name: str) -> bool:
    """Whether `name` can be used as a variable name in templates and conditions."""
    return IDENTIFIER.fullmatch(name) is not None
