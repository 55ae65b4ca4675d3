"""A second gateway process for tests: `python -m tests.providers.peer SPEC_JSON`.

It sets Django up on the test database, prints "ready", waits for a line on stdin, then
sends `count` concurrent requests through the gateway and prints one JSON line of results.
Spec: {"count": 50, "provider": "anthropic" | null, "tenant_id": 7 | null, "max_tokens": 100}.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import django


async def _one(provider: str | None, tenant_id: int | None, max_tokens: int) -> dict[str, object]:
    from providers import gateway
    from providers.errors import ProviderError
    from providers.interface import GatewayRequest, Message, Task

    request = GatewayRequest(
        task=Task.API,
        messages=(Message("user", "hi"),),
        provider=provider,
        tenant_id=tenant_id,
        max_tokens=max_tokens,
        deadline_seconds=30,
    )
    try:
        completion = await gateway.complete(request)
    except ProviderError as error:
        return {"ok": False, "code": error.code.value}
    return {"ok": True, "provider": completion.provider}


async def _run(spec: dict[str, Any]) -> list[dict[str, object]]:
    calls = (
        _one(spec.get("provider"), spec.get("tenant_id"), int(spec.get("max_tokens", 100)))
        for _ in range(int(spec["count"]))
    )
    return list(await asyncio.gather(*calls))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    spec = json.loads(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(asyncio.run(_run(spec))), flush=True)


if __name__ == "__main__":
    main()
