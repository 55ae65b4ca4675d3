"""What a generation's run needs besides the generation itself: made by the task (codegen.jobs)
or the command line, from the generation's snapshots and the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from codegen.checks.plan import PlanLimits
from codegen.events import Listener
from codegen.sandbox import SandboxLimits, SandboxRunner
from codegen.spec import Options, ServiceSpec
from codegen.targets import Target
from codegen.writers import Writer, WriterContext


@dataclass(frozen=True)
class Setup:
    """What a run needs besides the generation: made by the task or the command line."""

    make_writer: Callable[[WriterContext], Writer]
    spec: ServiceSpec
    options: Options
    target: Target
    runner: SandboxRunner
    sandbox_limits: SandboxLimits
    plan_limits: PlanLimits
    user_id: int | None = None
    listener: Listener | None = None


def plan_limits_from_settings() -> PlanLimits:
    return PlanLimits(
        max_files=settings.CODEGEN_MAX_FILES,
        max_file_bytes=settings.CODEGEN_MAX_FILE_BYTES,
        max_project_bytes=settings.CODEGEN_MAX_PROJECT_BYTES,
    )
