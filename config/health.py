"""/healthz: is every service the portal depends on reachable?

200 when all are; 503 naming each one that is down. Unauthenticated, so it says which
check failed and with what kind of error, and logs the details instead of returning them
(the checks are core.health's, shared with the API's /health).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from core.health import check_services


@never_cache
async def healthz(request: HttpRequest) -> JsonResponse:
    results = await check_services()
    down = [f"{result.name}: {result.backend}" for result in results if not result.ok]
    body = {
        "status": "unavailable" if down else "ok",
        "down": down,
        "checks": {result.name: result.as_dict() for result in results},
    }
    return JsonResponse(body, status=503 if down else 200)
