"""Group commit for provider log rows.

Every gateway attempt writes its row twice (pending before the upstream call, closed after)
and each write is a hop to Django's sync thread. Under concurrency those hops queue behind
each other and behind the GIL, so the writer gathers the writes of all in-flight requests
of an event loop and applies them in one hop and one transaction. A caller still awaits its
own write: a pending row exists before the upstream call, as promised.

If a batch fails as a whole, its writes are retried one by one so that one bad row (a
tenant deleted meanwhile, say) cannot lose the others' records.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction

from providers.errors import ProviderError
from providers.logs import LogClosing, LogOpening, log_close_many, pending_row, refused_row
from providers.models import ProviderLog

logger = logging.getLogger(__name__)


@dataclass
class _Insert:
    row: ProviderLog
    future: asyncio.Future[Any]
    # The caller's context: its writes are applied in it (see LogWriter._applied).
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


@dataclass
class _Close:
    log_id: int
    closing: LogClosing
    future: asyncio.Future[Any]
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


_Write = _Insert | _Close


def _apply(writes: list[_Write]) -> list[int | None]:
    """Apply writes in one transaction: the ids of inserted rows, None for closings.

    A closing never shares a batch with its own row's insert: it needs the id that the
    insert's caller only gets once the insert is committed.
    """
    with transaction.atomic():
        rows = [write.row for write in writes if isinstance(write, _Insert)]
        if rows:
            # Each row names its own tenant (or none, for platform calls).
            ProviderLog.objects.dangerously_unscoped().bulk_create(rows)
        log_close_many([(write.log_id, write.closing) for write in writes if isinstance(write, _Close)])
    return [write.row.pk if isinstance(write, _Insert) else None for write in writes]


def _apply_one(write: _Write) -> int | None:
    return _apply([write])[0]


@dataclass
class LogWriter:
    """The writer of one event loop."""

    queue: list[_Write] = field(default_factory=list)
    flushing: bool = False

    async def _submit(self, write: _Write) -> Any:
        self.queue.append(write)
        if not self.flushing:
            self.flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await write.future

    async def _flush(self) -> None:
        batch: list[_Write] = []
        try:
            while self.queue:
                batch, self.queue = self.queue, []
                try:
                    results = await self._applied(_apply, batch, batch[0])
                except Exception:
                    logger.warning("a batch of %d log writes failed; retrying them one by one", len(batch))
                    await self._one_by_one(batch)
                    continue
                for write, result in zip(batch, results, strict=True):
                    if not write.future.done():
                        write.future.set_result(result)
        finally:
            self.flushing = False
            # Whatever stopped this flush (even its cancellation), no caller waits forever.
            for write in [*batch, *self.queue]:
                if not write.future.done():
                    write.future.set_exception(RuntimeError("the log writer stopped before this write"))
            self.queue = []

    @staticmethod
    async def _applied(apply: Callable[[Any], Any], writes: Any, caller: _Write) -> Any:
        """`apply(writes)` in Django's sync thread, from the context of a caller still waiting.

        The flush outlives its first caller and serves later ones. A caller that came from
        sync code (a view calling the gateway through async_to_sync) has the only thread
        that may run its sync work, and that thread's executor quits once the caller's call
        returns: so each batch is applied in the context of one of its own callers, who is
        waiting for it, never in the context of whoever started the flush.
        """
        task = asyncio.get_running_loop().create_task(sync_to_async(apply)(writes), context=caller.context)
        return await task

    async def _one_by_one(self, batch: list[_Write]) -> None:
        for write in batch:
            try:
                result = await self._applied(_apply_one, write, write)
            except Exception as error:
                if not write.future.done():
                    write.future.set_exception(error)
            else:
                if not write.future.done():
                    write.future.set_result(result)

    async def open(self, opening: LogOpening) -> int:
        """Write the pending row of an attempt; returns its id once it is committed."""
        result = await self._submit(_Insert(pending_row(opening), asyncio.get_running_loop().create_future()))
        return int(result)

    async def refuse(self, opening: LogOpening, error: ProviderError) -> None:
        """Record a request refused before any upstream call, as one closed row."""
        await self._submit(_Insert(refused_row(opening, error), asyncio.get_running_loop().create_future()))

    async def close(self, log_id: int, closing: LogClosing) -> None:
        """Record how an attempt ended."""
        await self._submit(_Close(log_id, closing, asyncio.get_running_loop().create_future()))


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LogWriter] = weakref.WeakKeyDictionary()


def log_writer() -> LogWriter:
    """The writer of the running event loop."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = LogWriter()
    return writer
