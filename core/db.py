"""The database from async code: calls in asgiref's one database thread, connections tidied."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

P = ParamSpec("P")
R = TypeVar("R")


def _tidy_connections() -> None:
    """Before and after each call, as channels' database_sync_to_async does, except that the
    embedded SQLite connection is kept open: opening one (and its PRAGMAs) costs more than
    most of the queries a turn makes. That is safe because every thread-sensitive call from
    the event loop (sockets, turns, the gateway) runs in asgiref's one shared thread, so the
    connection is never used by two threads. Other databases keep CONN_MAX_AGE's behaviour
    (0: closed after each call, i.e. given back to the PostgreSQL pool)."""
    for connection in connections.all(initialized_only=True):
        kept = connection.vendor == "sqlite" and connection.connection is not None
        if kept and connection.get_autocommit() and not connection.in_atomic_block:
            continue
        connection.close_if_unusable_or_obsolete()


def database_sync_to_async(function: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """channels' `database_sync_to_async` for sockets and turns, with the SQLite connection
    kept open (see above)."""

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        _tidy_connections()
        try:
            return function(*args, **kwargs)
        finally:
            _tidy_connections()

    return sync_to_async(call, thread_sensitive=True)
