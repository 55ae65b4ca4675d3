"""Group commit of log rows: batched, yet every caller gets its own outcome."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from providers import log_writer as log_writer_module
from providers.errors import ErrorCode, ProviderError
from providers.interface import GatewayRequest, Message, Task
from providers.log_writer import LogWriter
from providers.logs import LogClosing, LogOpening
from providers.models import LogState, ProviderLog

pytestmark = pytest.mark.django_db(transaction=True)


def opening(tenant_id: int | None = None, provider: str = "anthropic") -> LogOpening:
    request = GatewayRequest(task=Task.API, messages=(Message("user", "hi"),), tenant_id=tenant_id)
    return LogOpening(
        request=request, request_id="req_w", provider=provider, kind="anthropic", model="m", streamed=False,
        store_content=True,
    )  # fmt: skip


async def test_concurrent_writes_are_committed_and_each_caller_gets_its_row() -> None:
    writer = LogWriter()
    ids = await asyncio.gather(*(writer.open(opening(provider=f"p{index}")) for index in range(30)))
    assert len(set(ids)) == 30
    closing = LogClosing(state=LogState.COMPLETED, attempts=1, started_at=(await _row(ids[0])).started_at)
    await asyncio.gather(*(writer.close(log_id, closing) for log_id in ids))
    states = await sync_to_async(
        lambda: set(ProviderLog.objects.for_platform().values_list("state", flat=True))
    )()
    assert states == {"completed"}
    by_id = await sync_to_async(
        lambda: dict(ProviderLog.objects.for_platform().values_list("pk", "provider"))
    )()
    assert [by_id[log_id] for log_id in ids] == [f"p{index}" for index in range(30)]


async def _row(log_id: int) -> ProviderLog:
    return await sync_to_async(ProviderLog.objects.for_platform().get)(pk=log_id)


async def test_one_bad_row_does_not_lose_the_others() -> None:
    writer = LogWriter()
    results = await asyncio.gather(
        writer.open(opening()),
        writer.open(opening(tenant_id=987654)),  # no such tenant: refused by the foreign key
        writer.refuse(opening(), ProviderError(ErrorCode.BUDGET_EXCEEDED, "over budget")),
        return_exceptions=True,
    )
    assert isinstance(results[0], int)
    assert isinstance(results[1], Exception)
    assert results[2] is None
    rows = await sync_to_async(
        lambda: list(ProviderLog.objects.for_platform().values_list("state", "error_code"))
    )()
    assert sorted(rows) == [("failed", "budget_exceeded"), ("pending", "")]


async def test_writes_outlive_the_sync_caller_that_started_the_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync view calls the gateway through async_to_sync: the flush it starts must not run
    its later batches on that view's thread executor, which quits when the view's call ends
    ("CurrentThreadExecutor already quit" for every caller queued behind it)."""
    writer = LogWriter()
    real_apply = log_writer_module._apply
    gates = [threading.Event(), threading.Event()]
    entered = [threading.Event(), threading.Event()]
    calls = iter(range(len(gates)))

    def gated_apply(writes: list[Any]) -> list[int | None]:
        index = next(calls, None)
        if index is not None:
            entered[index].set()
            gates[index].wait(10)
        return real_apply(writes)

    monkeypatch.setattr(log_writer_module, "_apply", gated_apply)

    def sync_view() -> int:
        return async_to_sync(writer.open)(opening(provider="view"))

    view = asyncio.ensure_future(sync_to_async(sync_view, thread_sensitive=False)())
    await asyncio.to_thread(entered[0].wait, 10)
    second = asyncio.ensure_future(writer.open(opening(provider="second")))
    await asyncio.sleep(0.05)
    gates[0].set()
    await asyncio.to_thread(entered[1].wait, 10)
    third = asyncio.ensure_future(writer.open(opening(provider="third")))
    await asyncio.sleep(0.05)
    gates[1].set()

    ids = await asyncio.gather(view, second, third)
    assert all(isinstance(log_id, int) for log_id in ids)
    providers = await sync_to_async(
        lambda: sorted(ProviderLog.objects.for_platform().values_list("provider", flat=True))
    )()
    assert providers == ["second", "third", "view"]
