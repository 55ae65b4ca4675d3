"""`manage.py workflow run` and `manage.py workflow signal`: runs from the command line.

`workflow run FILE.json --tenant SLUG` starts a run of the file's document on the configured
Temporal (temporal.py: in embedded mode, the dev server of `serve`, started for the command
when it is not running) and, with --wait, prints the run's events as the worker writes them
to the database, until the run finishes (follow.py). `workflow signal` sends a wait node's
signal. Both are subcommands of the workflows app's `workflow` command, which cannot import
this app: `register` adds them from RunsConfig.ready.

Anything quoted from the document goes through `printable`; JSON lines are JSON (their
strings escaped by json.dumps).
"""

from __future__ import annotations

from runs.cli import run, signal
from workflows.command_extensions import register_subcommand


def register() -> None:
    """Add `workflow run` and `workflow signal` to the workflows app's `workflow` command."""
    register_subcommand(
        "run",
        help="run a workflow document on Temporal",
        description=run.DESCRIPTION,
        add_arguments=run.add_arguments,
        handle=run.handle,
    )
    register_subcommand(
        "signal",
        help="send a signal to a run's wait nodes",
        description=signal.DESCRIPTION,
        add_arguments=signal.add_arguments,
        handle=signal.handle,
    )
