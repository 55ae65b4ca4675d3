"""Group commit of log rows: batched, yet every caller gets its own outcome."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

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
