"""`ast.parse` for generated files, one thread at a time.

CPython 3.11's AST constructor keeps its recursion depth in interpreter-wide state: two
threads parsing at once (the pipeline checks files in worker threads while the event loop
extracts interfaces) can fail with "SystemError: AST constructor recursion depth mismatch"
(fixed in later CPython). A lock costs microseconds next to a parse.
"""

from __future__ import annotations

import ast
import threading

_parsing = threading.Lock()


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    with _parsing:
        return ast.parse(source, filename=filename)
