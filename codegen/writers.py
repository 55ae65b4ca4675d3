"""Who writes a generation's files: the templates (offline) or the model.

`codegen.pipeline` drives a `Writer` through the stages (plan, files layer by layer, fixes,
review, docs); the writer only answers. The template writer renders the target's templates;
the model writer (codegen.model) asks the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from codegen.findings import FileFinding
from codegen.plans import Plan, PlannedFile
from codegen.spec import Options, ServiceSpec
from codegen.targets import Target


class WriterError(Exception):
    """A writer could not answer (the gateway failed, the model's reply was unusable): the
    generation fails with this code and message; the files stored so far stay."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class Usage:
    """What one model call cost, added to the generation's totals."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 1


class UsageSink(Protocol):
    async def __call__(self, usage: Usage) -> None: ...


class Writer(Protocol):
    mode: str  # "template" | "model"

    async def plan_data(self) -> object:
        """The plan as proposed (decoded JSON), for the pipeline to validate (read_plan)."""
        ...

    async def plan(self) -> Plan:
        """The project's plan (not yet validated: the pipeline checks it)."""
        ...

    async def write(self, planned: PlannedFile, *, plan: Plan, interfaces: Mapping[str, str]) -> str:
        """One file's content; `interfaces` holds, for each file it depends on, its interface
        (signatures and models, codegen.checks.interfaces), not its whole text."""
        ...

    async def fix(
        self,
        planned: PlannedFile,
        content: str,
        findings: list[FileFinding],
        *,
        plan: Plan,
        interfaces: Mapping[str, str],
    ) -> str | None:
        """The file fixed as the findings say; None when this writer cannot fix files."""
        ...

    async def review(self, plan: Plan, files: Mapping[str, str]) -> list[FileFinding]:
        """Issues across files the deterministic checks cannot see ([] when it cannot review)."""
        ...

    async def document(self, plan: Plan, files: Mapping[str, str]) -> Mapping[str, str]:
        """README.md and API.md (the plan's docs) from the final files."""
        ...


@dataclass(frozen=True)
class WriterContext:
    """What every writer is made with."""

    spec: ServiceSpec
    options: Options
    target: Target
    tenant_id: int | None
    user_id: int | None
    links: Mapping[str, str]
    usage: UsageSink | None = None
