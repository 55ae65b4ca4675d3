"""Which of a workflow's documents a page shows: the draft, or a published version.

Pages take the choice from a query parameter (`?version=3`, `?from=2&to=draft`); a value
that is not a number, or names a version that does not exist, is the caller's mistake and
is answered with a 400 that says which parameter was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflows import selectors
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.files import file_stem
from workflows.models import Workflow, WorkflowVersion

DRAFT = "draft"
_NUMBER = re.compile(r"[0-9]{1,9}")


class BadVersionChoice(Exception):
    """A query parameter that names no document of the workflow; the message says why."""


@dataclass(frozen=True)
class ChosenDocument:
    document: WorkflowDocument
    version: WorkflowVersion | None  # None: the draft

    @property
    def ref(self) -> str:
        """What the query parameter says to choose this document again."""
        return DRAFT if self.version is None else str(self.version.number)

    @property
    def label(self) -> str:
        return "the draft" if self.version is None else f"version {self.version.number}"

    def file_name(self, workflow: Workflow, extension: str) -> str:
        """What a download of this document is called: `order_fulfilment_v3.go`."""
        name = self.document.get("name")
        stem = file_stem(name if isinstance(name, str) else workflow.name, fallback=f"workflow_{workflow.pk}")
        suffix = "" if self.version is None else f"_v{self.version.number}"
        return f"{stem}{suffix}.{extension}"


def draft_of(workflow: Workflow) -> ChosenDocument:
    return ChosenDocument(workflow.document, None)


def choose_document(workflow: Workflow, value: str | None, *, parameter: str) -> ChosenDocument:
    """The document `?<parameter>=<value>` names: the draft when it is empty or `draft`."""
    if value is None or value in ("", DRAFT):
        return draft_of(workflow)
    if not _NUMBER.fullmatch(value):
        shown = value[:40] + ("…" if len(value) > 40 else "")
        raise BadVersionChoice(f"“{parameter}” takes a version number or “draft”, not “{shown}”.")
    version = selectors.version_of(workflow, int(value))
    if version is None:
        published = workflow.published_version
        known = (
            "it has not been published yet"
            if not published
            else "it has version 1 only"
            if published == 1
            else f"it has versions 1 to {published}"
        )
        raise BadVersionChoice(f"“{parameter}”: this workflow has no version {int(value)}; {known}.")
    return ChosenDocument(version.document, version)
