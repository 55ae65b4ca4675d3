"""Python modules as the checks see them: names of paths, and what a module imports and defines.

Both the file checks (does each import resolve) and the project checks (does the imported
module define the imported name) read modules the same way, from `ast` alone: nothing
generated is ever imported or run here. Only statements are walked, never expressions, so a
pathologically nested expression costs no recursion.
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Iterator
from dataclasses import dataclass

# Exceptions whose handler makes an import optional (`try: import x except ImportError:`).
_IMPORT_GUARDS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


@dataclass(frozen=True)
class ImportRef:
    """One imported module: `import a.b` or `from a.b import c, d` (names "c", "d")."""

    module: str | None  # absolute dotted name; None when a relative import leaves the packages
    names: tuple[str, ...]  # the names a from-import takes ("*" for a star); () for `import a.b`
    line: int
    level: int  # dots of a relative import; 0 for an absolute one
    guarded: bool  # inside `try:` with an ImportError handler: optional by design
    written: str  # the module as written (".models", "app.models"), for messages


def module_name_of(path: str) -> str | None:
    """The dotted module of a .py path (app/main.py → app.main, app/__init__.py → app), or
    None when the path is not importable (not .py, a segment that is not an identifier)."""
    if not path.endswith(".py"):
        return None
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(part.isidentifier() and not keyword.iskeyword(part) for part in parts):
        return None
    return ".".join(parts)


def package_of(path: str) -> str:
    """The package a relative import in `path` starts from ("" for a top-level module)."""
    module = module_name_of(path) or ""
    if path.endswith("/__init__.py") or path == "__init__.py":
        return module
    return module.rpartition(".")[0]


def parents_of(module: str) -> list[str]:
    """app.integrations.vendor → [app, app.integrations]."""
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def imports_of(tree: ast.Module, path: str) -> Iterator[ImportRef]:
    """Every import statement of the module, however deeply nested in blocks and functions."""
    package = package_of(path)
    for statement, guarded in _statements(tree.body, guarded=False):
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                yield ImportRef(alias.name, (), statement.lineno, 0, guarded, alias.name)
        elif isinstance(statement, ast.ImportFrom):
            level = statement.level or 0
            written = "." * level + (statement.module or "")
            module = _absolute(package, level, statement.module) if level else statement.module
            names = tuple(alias.name for alias in statement.names)
            yield ImportRef(module, names, statement.lineno, level, guarded, written)


def defined_names(tree: ast.Module) -> tuple[set[str], bool]:
    """The names a module defines at its top level (definitions, assignments, imports, and
    `__all__`'s entries), and whether it is open: a star import or a module `__getattr__`
    means any name may exist."""
    names: set[str] = set()
    is_open = False
    for statement, _guarded in _statements(tree.body, guarded=False, into_functions=False):
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
            is_open = is_open or statement.name == "__getattr__"
        elif isinstance(statement, ast.Import):
            names.update(alias.asname or alias.name.partition(".")[0] for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            for alias in statement.names:
                if alias.name == "*":
                    is_open = True
                else:
                    names.add(alias.asname or alias.name)
        else:
            for target in _targets(statement):
                names.update(_bound_names(target))
            if _assigns_all(statement):
                names.update(_all_entries(statement))
    return names, is_open


def _absolute(package: str, level: int, module: str | None) -> str | None:
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or not parts:
        return None
    base = parts[: len(parts) - (level - 1)]
    if not base:
        return None
    return ".".join(base + ([module] if module else []))


def _statements(
    body: list[ast.stmt], *, guarded: bool, into_functions: bool = True
) -> Iterator[tuple[ast.stmt, bool]]:
    """Statements of `body` and of the blocks inside them, with whether an ImportError
    handler guards each; function and class bodies only when `into_functions`."""
    for statement in body:
        yield statement, guarded
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if into_functions:
                yield from _statements(statement.body, guarded=guarded)
        elif isinstance(statement, ast.Try | ast.TryStar):
            catches = any(_catches_import_errors(handler) for handler in statement.handlers)
            yield from _statements(statement.body, guarded=guarded or catches, into_functions=into_functions)
            for handler in statement.handlers:
                yield from _statements(handler.body, guarded=guarded, into_functions=into_functions)
            yield from _statements(statement.orelse, guarded=guarded, into_functions=into_functions)
            yield from _statements(statement.finalbody, guarded=guarded, into_functions=into_functions)
        elif isinstance(statement, ast.If | ast.For | ast.AsyncFor | ast.While):
            yield from _statements(statement.body, guarded=guarded, into_functions=into_functions)
            yield from _statements(statement.orelse, guarded=guarded, into_functions=into_functions)
        elif isinstance(statement, ast.With | ast.AsyncWith):
            yield from _statements(statement.body, guarded=guarded, into_functions=into_functions)
        elif isinstance(statement, ast.Match):
            for case in statement.cases:
                yield from _statements(case.body, guarded=guarded, into_functions=into_functions)


def _catches_import_errors(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(kind, ast.Name) and kind.id in _IMPORT_GUARDS for kind in caught)


def _targets(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign):
        return list(statement.targets)
    if isinstance(statement, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
        return [statement.target]
    if isinstance(statement, ast.With | ast.AsyncWith):
        return [item.optional_vars for item in statement.items if item.optional_vars is not None]
    return []


def _bound_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _bound_names(element)]
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return []


def _assigns_all(statement: ast.stmt) -> bool:
    return any(isinstance(target, ast.Name) and target.id == "__all__" for target in _targets(statement))


def _all_entries(statement: ast.stmt) -> list[str]:
    value = getattr(statement, "value", None)
    if not isinstance(value, ast.List | ast.Tuple):
        return []
    return [
        element.value
        for element in value.elts
        if isinstance(element, ast.Constant) and isinstance(element.value, str)
    ]
