"""A generation's run as the Celery task (and the command line) starts it: claim the lease,
build what the run needs, keep the heartbeat while it runs."""

from __future__ import annotations

import logging

from codegen import pipeline, records
from codegen.events import Listener
from codegen.models import Generation
from codegen.run_setup import Setup, plan_limits_from_settings
from codegen.sandbox import SandboxRunner, default_runner, limits_from_settings
from codegen.spec import Options, build_spec
from codegen.targets import target_for
from codegen.template_writer import TemplateWriter
from codegen.writers import Writer, WriterContext
from core import heartbeats

logger = logging.getLogger(__name__)


def setup_for(
    generation: Generation,
    *,
    listener: Listener | None = None,
    runner: SandboxRunner | None = None,
) -> Setup:
    options = Options(
        target=generation.target,
        include_tests=generation.include_tests,
        include_docs=generation.include_docs,
        include_deployment=generation.include_deployment,
    )

    def writer(context: WriterContext) -> Writer:
        if generation.mode == Generation.Mode.MODEL:
            from codegen.model.writer import ModelWriter

            return ModelWriter(context)
        return TemplateWriter(context)

    return Setup(
        make_writer=writer,
        spec=build_spec(requirements=generation.requirements, workflow=generation.workflow_document),
        options=options,
        target=target_for(generation.target),
        runner=runner or default_runner(),
        sandbox_limits=limits_from_settings(),
        plan_limits=plan_limits_from_settings(),
        user_id=generation.created_by_id,
        listener=listener,
    )


def generation_run(
    *,
    generation_id: int,
    lease: str,
    listener: Listener | None = None,
    runner: SandboxRunner | None = None,
) -> Generation | None:
    """Run a generation if `lease` is still its lease (the task's body): the generation as it
    ended, None when there was nothing (more) for this run to do."""
    claimed = records.claim(generation_id, lease)
    if claimed is None:
        logger.info("generation %s: nothing to run under lease %r", generation_id, lease)
        return None
    generation, held = claimed
    heartbeat = heartbeats.Heartbeat(
        lambda: heartbeats.refresh(records.owned(held)), name=f"generation {generation_id}"
    )
    with heartbeat:
        return pipeline.run(generation, held, setup_for(generation, listener=listener, runner=runner))
