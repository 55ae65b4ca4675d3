"""An n8n node's call: a POST of its inputs to a webhook of the tenant's n8n, through the
same guarded HTTP as `http.request`. With `wait_for_completion`, the webhook's answer is the
output (n8n's "Respond to Webhook"); without, the output says the call was accepted."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from temporalio import activity
from temporalio.exceptions import ApplicationError

from providers.crypto import parse_keyring
from runs.activities.http_request import HTTP_REQUEST
from runs.activities.spec import ActivityContext, ActivityError
from runs.engine.types import NodeCall
from runs.models import N8nConnection
from tenants.models import Tenant


def connection_aad(connection: N8nConnection) -> str:
    return f"n8n:{connection.tenant_id}:{connection.pk}"


def _connection(tenant_id: int) -> tuple[str, str] | None:
    connection = N8nConnection.objects.for_tenant(Tenant(pk=tenant_id)).first()
    if connection is None:
        return None
    key = ""
    if connection.encrypted_api_key:
        keyring = parse_keyring(settings.PROVIDER_KEYRING)
        key = keyring.decrypt(connection.encrypted_api_key, associated_data=connection_aad(connection))
    return connection.base_url.rstrip("/"), key


async def call_workflow(call: NodeCall) -> Any:
    found = await sync_to_async(_connection, thread_sensitive=False)(call.tenant_id)
    if found is None:
        raise ApplicationError(
            "This organization has not set up n8n: an admin adds its address under Workflow runs "
            "(n8n connection) in the admin.",
            type="n8n_not_configured",
            non_retryable=True,
        )
    base_url, key = found
    path = str(call.config.get("webhook_path") or call.name).strip("/")
    arguments: dict[str, Any] = {
        "url": f"{base_url}/webhook/{quote(path, safe='/-_.~')}",
        "method": "POST",
        "json": call.arguments,
        "timeout_seconds": min(int(call.config.get("timeout_seconds") or 120), 120),
    }
    if key:
        arguments["headers"] = {"X-N8N-API-KEY": key}
    context = ActivityContext(
        tenant_id=call.tenant_id, run_id=call.run_id, node_id=call.node_id, heartbeat=activity.heartbeat
    )
    try:
        response = await HTTP_REQUEST.run(arguments, context)
    except ActivityError as error:
        raise ApplicationError(error.message, type=error.code, non_retryable=not error.retryable) from None
    status = int(response.get("status", 0))
    if status >= 400:
        raise ApplicationError(
            f"n8n answered HTTP {status} for the webhook “{path}”.",
            type="n8n_error",
            non_retryable=status < 500 and status != 429,
        )
    if not call.config.get("wait_for_completion"):
        return {"accepted": True, "status": status}
    return response.get("json", response.get("text"))
