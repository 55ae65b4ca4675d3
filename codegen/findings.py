"""What a check says about a generated file: one finding per problem, kept as JSON on the row."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class FileFinding:
    path: str  # the project-relative file it is about ("" for the project as a whole)
    code: str  # e.g. syntax_error, lint, unresolved_import, missing_requirement
    message: str
    line: int | None = None
    severity: Severity = "error"

    def as_dict(self) -> dict[str, Any]:
        # PostgreSQL's JSON refuses NUL characters, which a hostile file can put in a message.
        return {
            key: value.replace("\x00", "\\x00") if isinstance(value, str) else value
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileFinding:
        return cls(
            path=str(data.get("path", "")),
            code=str(data.get("code", "")),
            message=str(data.get("message", "")),
            line=data.get("line") if isinstance(data.get("line"), int) else None,
            severity="warning" if data.get("severity") == "warning" else "error",
        )

    def line_text(self) -> str:
        """One line for a prompt or a terminal: `app/main.py:12: unresolved_import: …`."""
        where = f"{self.path}:{self.line}" if self.line else self.path or "project"
        return f"{where}: {self.code}: {self.message}"


def errors_in(findings: list[FileFinding]) -> list[FileFinding]:
    return [finding for finding in findings if finding.severity == "error"]
