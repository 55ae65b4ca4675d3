"""Subcommands of `manage.py workflow` that live in apps above workflows.

`workflow validate` and `workflow compile` belong to this app; running a workflow belongs to
the runs app, which workflows may not import. So an upper app registers its subcommands here
(from its AppConfig.ready) and the command adds them to its parser and hands them their
options. Reading a workflow file is shared, so every subcommand reads `-` and reports an
unreadable file the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.terminal import printable
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.documents import read_document
from workflows.dsl.findings import Finding

EXIT_UNREADABLE = 2
STDIN = "-"
# The command's own subcommands: an app may not take their names.
BUILT_IN = frozenset({"validate", "compile"})


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    description: str
    add_arguments: Callable[[CommandParser], None]
    handle: Callable[[BaseCommand, dict[str, Any]], None]


_subcommands: dict[str, Subcommand] = {}


def register_subcommand(
    name: str,
    *,
    help: str,
    description: str,
    add_arguments: Callable[[CommandParser], None],
    handle: Callable[[BaseCommand, dict[str, Any]], None],
) -> None:
    """Add `manage.py workflow NAME`: `add_arguments` fills its parser, `handle` runs it with
    the command (for stdout and stderr) and the parsed options. Registering a name again
    replaces it (ready() may run more than once in tests)."""
    if name in BUILT_IN:
        raise ValueError(f"`workflow {name}` is the command's own subcommand")
    _subcommands[name] = Subcommand(name, help, description, add_arguments, handle)


def registered_subcommands() -> list[Subcommand]:
    """The registered subcommands, in the order they were first registered."""
    return list(_subcommands.values())


def registered_subcommand(name: str) -> Subcommand | None:
    return _subcommands.get(name)


def read_workflow_file(path: str) -> tuple[str, WorkflowDocument]:
    """The document's label for messages (escaped) and its JSON object, from a file or `-`
    (standard input); CommandError with exit status 2 when there is none."""
    label = "<stdin>" if path == STDIN else printable(path)
    try:
        raw = sys.stdin.buffer.read() if path == STDIN else Path(path).read_bytes()
    except OSError as problem:
        raise CommandError(
            f"cannot read {label}: {problem.strerror or problem}", returncode=EXIT_UNREADABLE
        ) from None
    document = read_document(raw)
    if isinstance(document, Finding):
        message = document.message
        if document.position is not None:
            message += f" ({_line_and_column(raw, document.position)})"
        raise CommandError(f"cannot read {label}: {printable(message)}", returncode=EXIT_UNREADABLE)
    return label, document


def _line_and_column(raw: bytes, position: int) -> str:
    """Where a character offset is, as editors show it (the text is UTF-8 when this is called)."""
    text = raw.decode("utf-8", errors="replace")
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"
