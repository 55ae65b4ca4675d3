"""The `sce.node` activity: an activity, ai_action or n8n node's outside work.

An activity node runs the built-in of its name (runs.activities.catalog); any other name
has no implementation here and fails with what to do (in a test run, give it an output).
Outputs go into the workflow's history, so they are capped.
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from temporalio import activity
from temporalio.exceptions import ApplicationError

from runs.activities import ai, catalog, events, n8n
from runs.engine.types import NODE_ACTIVITY, EventBatch, NodeCall

# Temporal refuses payloads over 2 MB; a node's output stays well under it.
MAX_OUTPUT_BYTES = 1_000_000


@activity.defn(name=NODE_ACTIVITY)
async def run_node(call: NodeCall) -> Any:
    if call.started is not None:
        batch = EventBatch(
            run_id=call.run_id, tenant_id=call.tenant_id, source=call.source, events=[call.started]
        )
        await sync_to_async(_record_started, thread_sensitive=False)(batch)
    if call.node_type == "ai_action":
        output = await ai.answer(call)
    elif call.node_type == "n8n":
        output = await n8n.call_workflow(call)
    else:
        output = await _builtin(call)
    size = len(json.dumps(output, ensure_ascii=False, default=str).encode())
    if size > MAX_OUTPUT_BYTES:
        raise ApplicationError(
            f"The output is {size:,} bytes; a node's output may be at most {MAX_OUTPUT_BYTES:,}.",
            type="too_large",
            non_retryable=True,
        )
    return output


def _record_started(batch: EventBatch) -> None:
    close_old_connections()
    try:
        events.record_and_show(batch)
    finally:
        close_old_connections()


async def _builtin(call: NodeCall) -> Any:
    spec = catalog.builtin(call.name)
    if spec is None:
        names = ", ".join(sorted(catalog.BUILTINS))
        raise ApplicationError(
            f"No activity is called “{call.name}”. The built-in ones are {names}; "
            "for any other, a test run takes the output you give it on the run form.",
            type="unknown_activity",
            non_retryable=True,
        )
    context = catalog.ActivityContext(
        tenant_id=call.tenant_id, run_id=call.run_id, node_id=call.node_id, heartbeat=activity.heartbeat
    )
    try:
        return await spec.run(call.arguments, context)
    except catalog.ActivityError as error:
        raise ApplicationError(error.message, type=error.code, non_retryable=not error.retryable) from None
