"""Workflow files users take away and bring back: exported JSON documents and Go sources."""

from __future__ import annotations

import json
import re
import unicodedata

from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.documents import parse_workflow
from workflows.dsl.models import WorkflowDSL


def canonical_document(workflow: WorkflowDSL) -> WorkflowDocument:
    """A parsed workflow as the DSL writes it: every field it needs, none that only repeat
    their default (absent and default read the same), no unknown ones.

    Not `exclude_none`: a required field may hold null (a trigger's `config`), and without
    it the document would no longer parse.
    """
    return workflow.model_dump(mode="json", exclude_defaults=True)


def canonical_form(document: WorkflowDocument) -> WorkflowDocument:
    """The document in its canonical form when it parses, else as it is (a draft may be
    broken): what is exported, and what diffs compare, so that a null optional field and a
    missing one are not told apart."""
    parsed = parse_workflow(document)
    return canonical_document(parsed.workflow) if parsed.workflow is not None else document


def export_bytes(document: WorkflowDocument) -> bytes:
    """The file a workflow document is exported as: its canonical form, which is what
    importing it stores, so export → import → export gives the same bytes."""
    return (json.dumps(canonical_form(document), indent=2, ensure_ascii=False) + "\n").encode()


def file_stem(name: str, *, fallback: str) -> str:
    """A file name (without extension) from a workflow's name: `order_fulfilment`; only
    ASCII letters, digits and underscores, so it is safe in a Content-Disposition header."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name).strip("_")[:80] or fallback
