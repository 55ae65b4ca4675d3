"""What a turn asks of the database: how many calls to its thread, queries and connections."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import connection as database_connection
from django.db.backends.signals import connection_created

from conversations import interview as interview_package
from conversations.models import Conversation
from core import db as core_db
from tests.conftest import TenantUsers
from tests.conversations.interview.test_turns import FIREWALL_QUESTION, Interview
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Tally:
    calls: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    connections: int = 0


def database_callers() -> list[ModuleType]:
    """The interview's modules that call the database thread (every one that imports the
    bridge: a module added later is counted without naming it here)."""
    modules = [
        importlib.import_module(f"{interview_package.__name__}.{module.name}")
        for module in pkgutil.iter_modules(interview_package.__path__)
    ]
    return [module for module in modules if hasattr(module, "database_sync_to_async")]


@pytest.fixture
def tally(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tally]:
    """Counts the calls a turn makes to the database thread, the queries every connection
    runs and the connections opened."""
    counted = Tally()
    wrapped: list[Any] = []
    database_call = core_db.database_sync_to_async

    def counting(function: Callable[..., Any]) -> Callable[..., Any]:
        counted.calls.append(getattr(function, "__name__", repr(function)))

        def counted_there(*args: Any, **kwargs: Any) -> Any:
            # The database thread may hold a connection from an earlier test (SQLite's is
            # kept): it is counted from here on, as a new one is when it opens.
            watch(connections[DEFAULT_DB_ALIAS])
            return function(*args, **kwargs)

        return database_call(counted_there)

    def execute(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        counted.queries.append(sql)
        return execute(sql, params, many, context)

    def watch(connection: Any) -> None:
        # One wrapper object stands for the thread's connection however often it reconnects
        # (PostgreSQL under ASGI connects per call): count its queries once.
        if execute not in connection.execute_wrappers:
            connection.execute_wrappers.append(execute)
            wrapped.append(connection)

    def opened(sender: Any, connection: Any, **kwargs: Any) -> None:
        counted.connections += 1
        watch(connection)

    for module in database_callers():
        monkeypatch.setattr(module, "database_sync_to_async", counting)
    connection_created.connect(opened)
    try:
        yield counted
    finally:
        connection_created.disconnect(opened)
        for connection in wrapped:
            connection.execute_wrappers.remove(execute)


async def test_a_chip_answer_makes_few_database_calls_on_one_kept_connection(
    tenant_users: TenantUsers, conversation: Conversation, anthropic: EmulatorServer, tally: Tally
) -> None:
    interview = Interview(tenant_users, conversation)
    anthropic.push(Reply(FIREWALL_QUESTION, tokens=4))
    await interview.start()
    tally.calls.clear()
    tally.queries.clear()
    tally.connections = 0
    anthropic.push(Reply("Which vendor's software will run it?\n\nWhy: it decides the images.", tokens=4))
    await interview.choose("service_type", "vRouter")
    queries, connections = list(tally.queries), tally.connections
    _conversation, messages = await interview.state()
    assert (messages[-1].field_key, messages[-1].state) == ("vendor", "done")
    # The conversation and its open question, the answer with its message and the next
    # question with the page state, in one call; the question's first frame number; its end
    # with the page state.
    assert tally.calls == ["_chip_add", "question_started", "_question_finish"]
    # Reads: the conversation with its tenant and its question; the conversation again,
    # locked, to apply the answer; the cost for the page state with the new question; the
    # conversation once more and the cost for the page state at its end (the question is at
    # hand). Writes: the answer's message, the answers (with the last activity), the
    # question's message and the conversation's last activity, its first frame number, its
    # end, and the gateway's two log rows (each written when it is made and when its call ends).
    reads = [sql for sql in queries if sql.startswith("SELECT")]
    writes = [sql for sql in queries if sql.split()[0] in {"INSERT", "UPDATE"}]
    assert (len(reads), len(writes)) == (6, 10), queries
    if database_connection.vendor == "sqlite":
        assert connections == 0, "the database thread keeps its SQLite connection open"
