"""`log`: a line in the platform's log (the `runs.activities` logger), tagged with the run.

For operators following a run in the server's log: the line names the tenant, run and node,
and carries them as record attributes too, for log pipelines that index fields.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from runs.activities.arguments import Arguments
from runs.activities.spec import ActivityContext, ArgumentSpec, BuiltinSpec

logger = logging.getLogger("runs.activities")

LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
MAX_MESSAGE_LENGTH = 10_000
# A log line is read by people: data past this is cut, marked so.
MAX_DATA_IN_LINE = 4_000

ARGUMENTS = (
    ArgumentSpec("message", "text", True, f"What to log, at most {MAX_MESSAGE_LENGTH:,} characters."),
    ArgumentSpec("level", "text", False, "info, warning or error; info when not given."),
    ArgumentSpec("data", "any", False, "A value logged with the message, as JSON."),
)


async def log_message(arguments: dict[str, Any], context: ActivityContext) -> dict[str, Any]:
    """Write the message to the `runs.activities` logger with the run's ids."""
    given = Arguments("log", arguments, ARGUMENTS)
    message = given.text("message", max_length=MAX_MESSAGE_LENGTH)
    level = given.choice("level", tuple(LEVELS), "info")
    ids = {"tenant_id": context.tenant_id, "run_id": context.run_id, "node_id": context.node_id}
    line = "tenant %s run %s node %s: %s"
    values: list[Any] = [context.tenant_id, context.run_id, context.node_id, message]
    if given.has("data"):
        data = json.dumps(given.value("data"), ensure_ascii=False, default=str)
        if len(data) > MAX_DATA_IN_LINE:
            data = data[:MAX_DATA_IN_LINE] + f"... ({len(data) - MAX_DATA_IN_LINE:,} more characters)"
        line += " %s"
        values.append(data)
    logger.log(LEVELS[level], line, *values, extra={**ids, "data": given.value("data")})
    return {"logged": True}


LOG = BuiltinSpec(
    name="log",
    run=log_message,
    summary="Writes a message to the platform's log, tagged with the tenant, run and node.",
    arguments=ARGUMENTS,
    returns="logged: true.",
)
