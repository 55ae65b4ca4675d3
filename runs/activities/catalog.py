"""The built-in activities a workflow's `activity` node can name, by `activity_name`.

Each built-in is a plain coroutine `run(arguments, context)`: the arguments are the node's
input mapping, already rendered; the context names the tenant, run and node and carries the
heartbeat. Each checks its own arguments (ActivityError "bad_arguments", naming the argument)
and reports failures as ActivityError with a code and whether retrying may help. Names not in
the catalog are the test-run mode's (a canned output per activity), handled by the caller.
"""

from __future__ import annotations

from runs.activities.email_send import EMAIL_SEND
from runs.activities.http_request import HTTP_REQUEST
from runs.activities.log import LOG
from runs.activities.sleep import WAIT_SLEEP
from runs.activities.spec import ActivityContext, ActivityError, ArgumentSpec, Builtin, BuiltinSpec
from runs.activities.transform import TRANSFORM

__all__ = [
    "BUILTINS",
    "ActivityContext",
    "ActivityError",
    "ArgumentSpec",
    "Builtin",
    "BuiltinSpec",
    "builtin",
]

BUILTINS: dict[str, BuiltinSpec] = {
    spec.name: spec for spec in (HTTP_REQUEST, EMAIL_SEND, LOG, TRANSFORM, WAIT_SLEEP)
}


def builtin(name: str) -> BuiltinSpec | None:
    """The built-in registered under `name`, or None when the catalog has none by that name."""
    return BUILTINS.get(name)
