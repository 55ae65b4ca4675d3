"""Reading the model's replies: a file's content, a JSON object, a plan, review issues.

Readers here are lenient about form and strict about nothing else: a file's content is kept
as the model wrote it (the pipeline's checks judge it), a plan is read without validation
(codegen.checks.plan does that), and what cannot be read at all raises `UnreadableReply`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from pathlib import PurePosixPath
from typing import Any

from codegen.findings import FileFinding
from codegen.plans import Endpoint, Plan, PlannedFile

# One fence around the whole reply: ```python … ``` (the info string is the language).
_FENCED = re.compile(r"\A```[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)\n?```[ \t]*\Z", re.DOTALL)
# A markdown file may itself start and end with code blocks: only these info strings mark
# a fence around the whole reply.
_MARKDOWN_WRAPPERS = frozenset({"", "markdown", "md"})
MAX_REVIEW_ISSUES = 30
MAX_REVIEW_MESSAGE = 600


class UnreadableReply(Exception):
    """The reply is not what was asked for (not JSON, empty); the message says why."""


def _is_markdown(path: str, language: str) -> bool:
    return language.lower() == "markdown" or PurePosixPath(path).suffix.lower() in {".md", ".markdown"}


def unwrap_fence(text: str, *, path: str, language: str) -> str:
    """The reply without the one markdown fence around all of it, if there is one."""
    match = _FENCED.match(text.strip())
    if match is None:
        return text
    info = match.group("info").strip().lower()
    if _is_markdown(path, language) and info not in _MARKDOWN_WRAPPERS:
        return text
    return match.group("body")


def file_content(text: str, *, path: str, language: str) -> str:
    """A file's content from the reply: the fence around it removed, a final newline added.

    Raises UnreadableReply for an empty reply, except for a package's `__init__.py`, which
    may well be empty.
    """
    content = unwrap_fence(text, path=path, language=language)
    if not content.strip():
        if PurePosixPath(path).name == "__init__.py":
            return ""
        raise UnreadableReply(f"the reply for {path} was empty")
    return content if content.endswith("\n") else content + "\n"


def json_object(text: str) -> dict[str, Any]:
    """The JSON object in the reply; a fence or prose around it is tolerated."""
    candidates = [text]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        except RecursionError:
            raise UnreadableReply("the reply's JSON is nested too deeply") from None
        if isinstance(value, dict):
            return value
        raise UnreadableReply(f"the reply is JSON but not an object (a {type(value).__name__})")
    raise UnreadableReply("the reply is not a JSON object")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _planned(rows: object) -> Iterable[PlannedFile]:
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or not isinstance(row.get("path"), str):
            continue
        depends_on = row.get("depends_on")
        yield PlannedFile(
            path=row["path"],
            purpose=_text(row.get("purpose")),
            language=_text(row.get("language")),
            depends_on=tuple(item for item in depends_on if isinstance(item, str))
            if isinstance(depends_on, list)
            else (),
        )


def plan_from_data(data: object, *, doc_paths: Collection[str]) -> Plan:
    """The proposed plan as it is, read leniently (rows that are not files are skipped);
    the files at `doc_paths` (README.md, API.md; in any case) become the plan's docs, as
    codegen.checks.plan reads them."""
    if not isinstance(data, dict):
        return Plan(files=())
    docs = {path.casefold() for path in doc_paths}
    planned = list(_planned(data.get("files")))
    listed_docs = list(_planned(data.get("docs")))
    endpoints = [
        Endpoint(row["method"], row["path"], _text(row.get("summary")))
        for row in data.get("endpoints") or []
        if isinstance(row, dict) and isinstance(row.get("method"), str) and isinstance(row.get("path"), str)
    ]
    return Plan(
        files=tuple(item for item in planned if item.path.casefold() not in docs),
        endpoints=tuple(endpoints),
        notes=_text(data.get("notes")),
        docs=(*listed_docs, *(item for item in planned if item.path.casefold() in docs)),
    )


def review_findings(data: dict[str, Any], *, paths: Collection[str]) -> list[FileFinding]:
    """The review's issues about files of the project, as findings (code "review")."""
    findings = []
    issues = data.get("issues")
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, dict):
            continue
        path, message = _text(issue.get("path")).strip(), _text(issue.get("message")).strip()
        if path in paths and message:
            findings.append(FileFinding(path=path, code="review", message=message[:MAX_REVIEW_MESSAGE]))
        if len(findings) >= MAX_REVIEW_ISSUES:
            break
    return findings


REVIEW_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "issues": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                "required": ["path", "message"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["issues"],
    "additionalProperties": False,
}
