"""The template writer: the target's deterministic templates, offline, no model.

Its plan is the target's skeleton and its files the skeleton's rendering; it cannot fix or
review (what it renders is checked like any file, and its tests are run like any tests).
"""

from __future__ import annotations

from collections.abc import Mapping

from codegen.findings import FileFinding
from codegen.plans import Plan, PlannedFile
from codegen.writers import WriterContext


class TemplateWriter:
    mode = "template"

    def __init__(self, context: WriterContext) -> None:
        self.context = context
        self._rendered: Mapping[str, str] | None = None

    def _files(self, plan: Plan) -> Mapping[str, str]:
        if self._rendered is None:
            self._rendered = self.context.target.render(self.context.spec, self.context.options, plan)
        return self._rendered

    async def plan_data(self) -> object:
        return (await self.plan()).as_dict()

    async def plan(self) -> Plan:
        return self.context.target.skeleton(self.context.spec, self.context.options)

    async def write(self, planned: PlannedFile, *, plan: Plan, interfaces: Mapping[str, str]) -> str:
        return self._files(plan)[planned.path]

    async def fix(
        self,
        planned: PlannedFile,
        content: str,
        findings: list[FileFinding],
        *,
        plan: Plan,
        interfaces: Mapping[str, str],
    ) -> str | None:
        return None

    async def review(self, plan: Plan, files: Mapping[str, str]) -> list[FileFinding]:
        return []

    async def document(self, plan: Plan, files: Mapping[str, str]) -> Mapping[str, str]:
        return self.context.target.render_docs(self.context.spec, plan, files)
