"""The model writer: each stage of a generation asked of the gateway, one call at a time.

Every call goes through `providers.gateway.complete` under the generation's tenant and user,
with the task that routes it (`tests` for the project's tests, `docs` for Markdown, `codegen`
for the rest) and links naming the generation, the file and the step, so the logs, quotas
and costs are the gateway's as for any call; its usage is reported to the generation after
each call. A gateway failure becomes a `WriterError` with the gateway's code and message;
a cancel (asyncio.CancelledError) goes through untouched.

For each file the calls come in a fixed order: `write`, then `fix` as often as the pipeline
asks. The one file that is not written by the model is the compiled Go workflow, copied as
the compiler wrote it (the model would only retype it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings

from codegen import modes
from codegen.checks.interfaces import interface_of
from codegen.findings import FileFinding
from codegen.model import prompts
from codegen.model.budget import clip
from codegen.model.examples import Examples, is_test_path
from codegen.model.replies import (
    REVIEW_JSON_SCHEMA,
    UnreadableReply,
    file_content,
    json_object,
    plan_from_data,
    review_findings,
)
from codegen.plans import PLAN_JSON_SCHEMA, Plan, PlannedFile
from codegen.writers import Usage, WriterContext, WriterError
from providers import gateway
from providers.errors import ProviderError
from providers.interface import Completion, GatewayRequest, Message, Task

logger = logging.getLogger(__name__)

# The characters a prompt may take, system prompt included (about 12k tokens), unless
# settings.CODEGEN_PROMPT_CHARS says otherwise.
PROMPT_CHARS = 48_000
FILE_MAX_TOKENS = 8192
PLAN_MAX_TOKENS = 4096
REVIEW_MAX_TOKENS = 2048
DOCS_MAX_TOKENS = 6144
# A whole file takes a while to write: room for the gateway's retries and fallbacks.
FILE_DEADLINE_SECONDS = 300.0
# No temperature is sent: current models choose their own, and Anthropic's SDK refuses one.
PLAN_ATTEMPTS = 2
MAX_REVIEW_ISSUES = 20
INVALID_OUTPUT = "invalid_output"
CUT_OFF = frozenset({"length", "max_tokens"})  # the finish reasons of a reply cut at max_tokens
DOC_PATHS = frozenset({"README.md", "API.md"})


def task_for(path: str) -> Task:
    """The gateway task that writes `path`: tests, docs (Markdown) or codegen."""
    if is_test_path(path):
        return Task.TESTS
    if PurePosixPath(path).suffix.lower() == ".md":
        return Task.DOCS
    return Task.CODEGEN


class ModelWriter:
    mode = "model"

    def __init__(self, context: WriterContext, *, prompt_chars: int | None = None) -> None:
        self.context = context
        self.budget: int = prompt_chars or int(getattr(settings, "CODEGEN_PROMPT_CHARS", PROMPT_CHARS))
        self.examples = Examples(context.spec, context.options, context.target)
        self._plan_data: dict[str, Any] | None = None

    # --- One call ------------------------------------------------------------------------

    async def _ask(
        self,
        *,
        task: Task,
        step: str,
        path: str | None,
        system: str,
        messages: Sequence[Message],
        max_tokens: int,
        json_schema: Mapping[str, Any] | None = None,
        json_schema_name: str = "response",
        deadline_seconds: float = 120.0,
        extra_links: Mapping[str, str] | None = None,
    ) -> Completion:
        links = {**self.context.links, "step": step, **(extra_links or {})}
        if path is not None:
            links["file"] = path
        request = GatewayRequest(
            task=task,
            messages=tuple(messages),
            tenant_id=self.context.tenant_id,
            user_id=self.context.user_id,
            system=system,
            max_tokens=max_tokens,
            json_schema=json_schema,
            json_schema_name=json_schema_name,
            links=links,
            deadline_seconds=deadline_seconds,
            # Plans, reviews and docs too: a model that cannot write the code cannot plan it.
            needs=modes.NEEDS,
        )
        try:
            completion = await gateway.complete(request)
        except ProviderError as failure:
            raise WriterError(failure.code.value, failure.message) from failure
        if self.context.usage is not None:
            await self.context.usage(
                Usage(
                    input_tokens=completion.usage.input_tokens,
                    output_tokens=completion.usage.output_tokens,
                    cost_usd=completion.cost_usd,
                )
            )
        return completion

    async def _file(self, *, step: str, planned: PlannedFile, system: str, message: Message) -> str:
        completion = await self._ask(
            task=task_for(planned.path),
            step=step,
            path=planned.path,
            system=system,
            messages=[message],
            max_tokens=DOCS_MAX_TOKENS if step == "docs" else FILE_MAX_TOKENS,
            deadline_seconds=FILE_DEADLINE_SECONDS,
        )
        try:
            return file_content(completion.text, path=planned.path, language=planned.language)
        except UnreadableReply as unreadable:
            raise WriterError(INVALID_OUTPUT, str(unreadable)) from None

    # --- The stages ----------------------------------------------------------------------

    async def plan_data(self) -> object:
        """The plan as the model proposed it (a JSON object, not validated); asked once, and
        once more with the reason when the reply is not a JSON object."""
        if self._plan_data is None:
            context = self.context
            system = prompts.plan_system(
                context.target, context.options, max_files=settings.CODEGEN_MAX_FILES
            )
            messages = [
                prompts.plan_message(context.spec, self.examples.skeleton, system=system, budget=self.budget)
            ]
            for attempt in range(1, PLAN_ATTEMPTS + 1):
                completion = await self._ask(
                    task=Task.CODEGEN,
                    step="plan",
                    path=None,
                    system=system,
                    messages=messages,
                    max_tokens=PLAN_MAX_TOKENS,
                    json_schema=PLAN_JSON_SCHEMA,
                    json_schema_name="service_plan",
                    extra_links={"attempt": str(attempt)},
                )
                try:
                    self._plan_data = json_object(completion.text)
                    break
                except UnreadableReply as unreadable:
                    reason = str(unreadable)
                    if completion.finish_reason in CUT_OFF:
                        reason = f"it was cut off at the {PLAN_MAX_TOKENS}-token limit ({reason})"
                    if attempt == PLAN_ATTEMPTS:
                        raise WriterError(
                            INVALID_OUTPUT,
                            f"the model's plan could not be read in {attempt} attempts: {reason}",
                        ) from None
                    messages += [
                        Message("assistant", clip(completion.text, 4_000) or "(no reply)"),
                        prompts.plan_retry_message(reason),
                    ]
        return self._plan_data

    async def plan(self) -> Plan:
        """The proposed plan read leniently (not validated: codegen.checks.plan does that)."""
        doc_paths = DOC_PATHS | {planned.path for planned in self.examples.skeleton.docs}
        return plan_from_data(await self.plan_data(), doc_paths=doc_paths)

    def _compiled_workflow(self, planned: PlannedFile) -> str | None:
        go_code = self.context.spec.go_code
        if go_code and self.examples.files().get(planned.path) == go_code:
            return go_code
        return None

    async def write(self, planned: PlannedFile, *, plan: Plan, interfaces: Mapping[str, str]) -> str:
        compiled = self._compiled_workflow(planned)
        if compiled is not None:
            return compiled
        system = prompts.file_system(self.context.target)
        message = prompts.write_message(
            self.context.spec,
            planned,
            plan=plan,
            interfaces=interfaces,
            example=self.examples.for_path(planned.path),
            system=system,
            budget=self.budget,
        )
        return await self._file(step="write", planned=planned, system=system, message=message)

    async def fix(
        self,
        planned: PlannedFile,
        content: str,
        findings: list[FileFinding],
        *,
        plan: Plan,
        interfaces: Mapping[str, str],
    ) -> str | None:
        system = prompts.fix_system(self.context.target)
        message = prompts.fix_message(
            self.context.spec,
            planned,
            content,
            findings,
            plan=plan,
            interfaces=interfaces,
            system=system,
            budget=self.budget,
        )
        return await self._file(step="fix", planned=planned, system=system, message=message)

    async def _interfaces(self, plan: Plan, files: Mapping[str, str]) -> dict[str, str]:
        """The interfaces of the files, the plan's first and in its order, docs left out
        (computed off the event loop: every file is parsed)."""
        paths = [planned.path for planned in plan.files if planned.path in files]
        paths += [path for path in files if plan.file(path) is None]

        def extract() -> dict[str, str]:
            return {path: interface_of(path, files[path]) for path in paths}

        return await asyncio.to_thread(extract)

    async def review(self, plan: Plan, files: Mapping[str, str]) -> list[FileFinding]:
        """The model's review over the files' interfaces; an unreadable reply is logged and
        counts as no issue (the review only adds to the deterministic checks)."""
        system = prompts.review_system(self.context.target, max_issues=MAX_REVIEW_ISSUES)
        interfaces = await self._interfaces(plan, files)
        message = prompts.review_message(
            self.context.spec, plan, interfaces, system=system, budget=self.budget
        )
        completion = await self._ask(
            task=Task.CODEGEN,
            step="review",
            path=None,
            system=system,
            messages=[message],
            max_tokens=REVIEW_MAX_TOKENS,
            json_schema=REVIEW_JSON_SCHEMA,
            json_schema_name="service_review",
        )
        try:
            data = json_object(completion.text)
        except UnreadableReply as unreadable:
            logger.warning("the review of %s was unreadable: %s", dict(self.context.links), unreadable)
            return []
        return review_findings(data, paths=files.keys())[:MAX_REVIEW_ISSUES]

    async def document(self, plan: Plan, files: Mapping[str, str]) -> Mapping[str, str]:
        """Each of the plan's docs from the final files' interfaces, one call each, at once."""
        system = prompts.docs_system(self.context.target)
        interfaces = await self._interfaces(plan, files)

        async def write(planned: PlannedFile) -> str:
            message = prompts.docs_message(
                self.context.spec,
                planned,
                plan=plan,
                interfaces=interfaces,
                example=self.examples.for_path(planned.path),
                system=system,
                budget=self.budget,
            )
            return await self._file(step="docs", planned=planned, system=system, message=message)

        texts = await asyncio.gather(*(write(planned) for planned in plan.docs))
        return {planned.path: text for planned, text in zip(plan.docs, texts, strict=True)}
