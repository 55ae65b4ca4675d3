"""What a file offers the files that depend on it, short enough for a prompt.

A prompt for one file carries the interfaces of the files it depends on, not their text:
for Python, what `ast` sees from outside (imports, constants, signatures, classes with
their fields, decorators such as `@app.get("/x")`), with every body replaced by `...`; for
other files the part that matters (requirements whole, SQL's CREATE statements, Go's
declarations) or the first lines. Always capped at `max_chars`.
"""

from __future__ import annotations

import ast
import copy
import re
from pathlib import PurePosixPath

from codegen import python_ast

MAX_VALUE_CHARS = 60  # a constant's or default's source beyond this is shown as `...`
FIRST_LINES = 30
MAX_LINE_CHARS = 300  # of a first line shown as it is
TRUNCATED = "# … (interface truncated)"

_SQL_CREATE = re.compile(r"\bCREATE\s+(?:[A-Z]+\s+){0,4}?(?:TABLE|VIEW|INDEX|TYPE)\b[^;]*;?", re.IGNORECASE)
_GO_DECLARATION = re.compile(r"^(?:package|import|func|type|const|var)\b.*$", re.MULTILINE)


def interface_of(path: str, content: str, *, max_chars: int = 4000) -> str:
    """The interface of `content` (the file at `path`), at most `max_chars` characters."""
    max_chars = max(max_chars, 0)
    name = PurePosixPath(path).name
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".py":
        return _python_interface(content, max_chars)
    if name == "requirements.txt" or name.endswith("requirements.txt"):
        return _capped(content.strip(), max_chars)
    if suffix == ".sql":
        statements = [match.group(0).strip() for match in _SQL_CREATE.finditer(content)]
        return _capped("\n\n".join(statements) if statements else _first_lines(content), max_chars)
    if suffix == ".go":
        declarations = _GO_DECLARATION.findall(content)
        return _capped(
            "\n".join(line.rstrip(" {") for line in declarations) or _first_lines(content), max_chars
        )
    return _capped(_first_lines(content), max_chars)


def _python_interface(content: str, max_chars: int) -> str:
    try:
        module = python_ast.parse(content)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        line = getattr(error, "lineno", None)
        where = f" (line {line})" if line else ""
        note = f"# does not parse{where}; its first lines:\n"
        return _capped(note + _first_lines(content), max_chars)
    try:
        text = _render(module, with_private=True)
        if len(text) > max_chars:  # private helpers are the first to go: others should not use them
            text = _render(module, with_private=False)
    except (RecursionError, ValueError, MemoryError):  # ast.unparse on pathological nesting
        text = "# the interface could not be extracted; first lines:\n" + _first_lines(content)
    return _capped(text, max_chars)


def _render(module: ast.Module, *, with_private: bool) -> str:
    parts: list[str] = []
    docstring = ast.get_docstring(module)
    if docstring:
        parts.append(ast.unparse(ast.Expr(ast.Constant(_first_line(docstring)))))
    for statement in _top_level(module.body):
        shown = _statement(statement, with_private=with_private)
        if shown is not None:
            parts.append(ast.unparse(shown))
    return "\n".join(parts)


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Top-level statements, looking into `if TYPE_CHECKING:` and `try:` blocks (guarded
    imports and definitions are still the module's)."""
    statements: list[ast.stmt] = []
    for statement in body:
        if isinstance(statement, ast.If) and _is_main_guard(statement):
            continue
        if isinstance(statement, ast.If | ast.Try | ast.TryStar):
            statements += _top_level(statement.body)
        else:
            statements.append(statement)
    return statements


def _is_main_guard(statement: ast.If) -> bool:
    """`if __name__ == "__main__":`: what runs the module as a script, not what it offers."""
    test = statement.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(side, ast.Constant) and side.value == "__main__" for side in test.comparators)
    )


def _statement(statement: ast.stmt, *, with_private: bool) -> ast.stmt | None:
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return statement
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        return _signature(statement) if with_private or _public(statement.name) else None
    if isinstance(statement, ast.ClassDef):
        return (
            _class(statement, with_private=with_private) if with_private or _public(statement.name) else None
        )
    if isinstance(statement, ast.Assign | ast.AnnAssign):
        return _assignment(statement)
    return None


def _public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _signature(function: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.stmt:
    shown = copy.copy(function)
    shown.args = copy.copy(function.args)
    shown.args.defaults = [_shortened(value) for value in function.args.defaults]
    shown.args.kw_defaults = [
        None if value is None else _shortened(value) for value in function.args.kw_defaults
    ]
    shown.decorator_list = [_decorator(decorator) for decorator in function.decorator_list]
    shown.body = [*_docstring_of(function), ast.Expr(ast.Constant(...))]
    return shown


def _class(cls: ast.ClassDef, *, with_private: bool) -> ast.stmt:
    shown = copy.copy(cls)
    shown.decorator_list = [_decorator(decorator) for decorator in cls.decorator_list]
    body: list[ast.stmt] = [*_docstring_of(cls)]
    for statement in cls.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            if with_private or _public(statement.name):
                body.append(_signature(statement))
        elif isinstance(statement, ast.ClassDef):
            body.append(_class(statement, with_private=with_private))
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            body.append(_assignment(statement))
    shown.body = body or [ast.Expr(ast.Constant(...))]
    return shown


def _assignment(statement: ast.Assign | ast.AnnAssign) -> ast.stmt:
    shown = copy.copy(statement)
    if statement.value is not None:
        shown.value = _shortened(statement.value)
    return shown


def _docstring_of(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[ast.stmt]:
    docstring = ast.get_docstring(node)
    return [ast.Expr(ast.Constant(_first_line(docstring)))] if docstring else []


def _decorator(decorator: ast.expr) -> ast.expr:
    """A decorator with its arguments shortened one by one: `@app.get("/x", responses=...)`
    keeps its route however long the rest."""
    if not isinstance(decorator, ast.Call):
        return _shortened(decorator, limit=200)
    shown = copy.copy(decorator)
    shown.args = [_shortened(argument) for argument in decorator.args]
    shown.keywords = [ast.keyword(keyword.arg, _shortened(keyword.value)) for keyword in decorator.keywords]
    return shown


def _shortened(value: ast.expr, *, limit: int = MAX_VALUE_CHARS) -> ast.expr:
    """`value`, or `...` when its source is long; a call keeps its short arguments
    (`Field(default='x', description=...)`), so a field's default stays visible."""
    if len(ast.unparse(value)) <= limit:
        return value
    if isinstance(value, ast.Call) and len(ast.unparse(value.func)) <= limit:
        shown = copy.copy(value)
        shown.args = [_shortened(argument, limit=limit // 2) for argument in value.args]
        shown.keywords = [
            ast.keyword(keyword.arg, _shortened(keyword.value, limit=limit // 2))
            for keyword in value.keywords
        ]
        if len(ast.unparse(shown)) <= limit * 2:
            return shown
    return ast.Constant(...)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _first_lines(content: str) -> str:
    return "\n".join(line[:MAX_LINE_CHARS] for line in content.splitlines()[:FIRST_LINES])


def _capped(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    if max_chars <= len(TRUNCATED) + 1:
        return text[:max_chars]
    kept = text[: max_chars - len(TRUNCATED) - 1]
    if "\n" in kept:
        kept = kept[: kept.rindex("\n")]
    return f"{kept}\n{TRUNCATED}"
