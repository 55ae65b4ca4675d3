"""Threads a test starts to run database work beside it (a job the test interrupts)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def database_thread(work: Callable[[], object]) -> threading.Thread:
    """A started thread running `work`, then closing the thread's database connections.

    Django opens one connection per thread and closes it only when told: a thread that just
    ends keeps its connection checked out of the pool, and a few such tests exhaust it
    (CI saw "couldn't get a connection after 10.00 sec" in a later test).
    """

    def run() -> None:
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
