"""A generation's plan: the project's files (with what each depends on) and its endpoints.

The model proposes one as structured output (`PLAN_JSON_SCHEMA`); `codegen.checks.plan`
validates it before use; the template mode's target gives its own (the default skeleton).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PlannedFile:
    path: str  # relative, forward slashes, no `..`
    purpose: str
    language: str  # python, markdown, text, json, yaml, toml, dockerfile, sql, go, ...
    depends_on: tuple[str, ...] = ()  # paths of files in the same plan

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "purpose": self.purpose,
            "language": self.language,
            "depends_on": list(self.depends_on),
        }


@dataclass(frozen=True)
class Endpoint:
    method: str  # GET, POST, PUT, PATCH, DELETE
    path: str  # e.g. /requests/{request_id}
    summary: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "summary": self.summary}


@dataclass(frozen=True)
class Plan:
    files: tuple[PlannedFile, ...]
    endpoints: tuple[Endpoint, ...] = ()
    notes: str = ""
    # Files that are written after the others from the final files (README.md, API.md).
    docs: tuple[PlannedFile, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [planned.as_dict() for planned in self.files],
            "endpoints": [endpoint.as_dict() for endpoint in self.endpoints],
            "notes": self.notes,
            "docs": [planned.as_dict() for planned in self.docs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """A plan stored by `as_dict` (already validated): no checks here."""

        def planned(row: dict[str, Any]) -> PlannedFile:
            return PlannedFile(
                path=row["path"],
                purpose=row.get("purpose", ""),
                language=row.get("language", ""),
                depends_on=tuple(row.get("depends_on", ())),
            )

        return cls(
            files=tuple(planned(row) for row in data.get("files", [])),
            endpoints=tuple(
                Endpoint(row["method"], row["path"], row.get("summary", ""))
                for row in data.get("endpoints", [])
            ),
            notes=data.get("notes", ""),
            docs=tuple(planned(row) for row in data.get("docs", [])),
        )

    def file(self, path: str) -> PlannedFile | None:
        return next((planned for planned in (*self.files, *self.docs) if planned.path == path), None)


PLAN_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "purpose": {"type": "string"},
                    "language": {"type": "string"},
                    "depends_on": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["path", "purpose", "language", "depends_on"],
                "additionalProperties": False,
            },
        },
        "endpoints": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                    "path": {"type": "string"},
                    "summary": {"type": "string"},
                },
                "required": ["method", "path", "summary"],
                "additionalProperties": False,
            },
        },
        "notes": {"type": "string"},
    },
    "required": ["files", "endpoints", "notes"],
    "additionalProperties": False,
}
