"""The Providers page's "Try it" box: a prompt goes over the socket, the reply streams back.

Access is a tenant socket's (tenants.sockets) needing the admin role: a member who loses it
(removed, demoted, logged out, the tenant suspended) has the socket closed and any reply
still streaming to it stopped, so no further model call is made on the tenant's keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, ClassVar

from django.template.loader import render_to_string
from pydantic import BaseModel, ConfigDict, StrictStr

from core.rendering import markdown_html
from core.socket_messages import MessageRefused, read_action, read_object
from providers import gateway
from providers.forms import TryForm
from providers.interface import (
    GatewayRequest,
    Message,
    Task,
)
from providers.stream_reply import read_stream
from tenants.models import Role
from tenants.sockets import TenantSocket

logger = logging.getLogger(__name__)


class TryMessage(BaseModel):
    """What the box sends, as types; TryForm then checks lengths and the provider."""

    model_config = ConfigDict(extra="ignore")  # htmx adds the form's HEADERS

    provider: StrictStr = ""
    model: StrictStr = ""
    prompt: StrictStr = ""


class TryConsumer(TenantSocket):
    """Admins of an active tenant send prompts to one of its providers and watch the reply."""

    open_role: ClassVar[Role] = Role.ADMIN
    running: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        if await self.admit() is not None:
            await self.accept()

    async def release(self) -> None:
        running, self.running = self.running, None
        if running is not None and not running.done():
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        await super().release()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = read_action(read_object(text_data), TryMessage)
        except MessageRefused as refused:
            await self._send("error", message=str(refused))
            return
        form = TryForm(message.model_dump())
        if not form.is_valid():
            errors = "; ".join(
                f"{field}: {' '.join(str(e) for e in errs)}" for field, errs in form.errors.items()
            )
            await self._send("error", message=f"Check the form ({errors}).")
            return
        if self.running is not None and not self.running.done():
            await self._send("error", message="Wait for the current reply to finish.")
            return
        request = GatewayRequest(
            task=Task.API,
            messages=(Message("user", form.cleaned_data["prompt"]),),
            tenant_id=self.membership.tenant_id,
            user_id=self.membership.user_id,
            provider=form.cleaned_data["provider"],
            model=form.cleaned_data["model"] or None,
            max_tokens=512,
            links={"source": "try-it"},
        )
        self.running = asyncio.create_task(self._stream(request))

    async def _stream(self, request: GatewayRequest) -> None:
        try:
            reply = await read_stream(
                gateway.stream(request),
                on_start=lambda event: self._send("start", provider=event.provider, model=event.model),
                on_token=lambda event: self._send("token", text=event.text),
                on_usage=lambda event: self._send("usage", usage=event),
                on_error=lambda event: self._send("error", message=f"{event.code.value}: {event.message}"),
            )
            if reply.finish_reason:
                # The tokens came as plain text; the whole reply is then shown as its markdown renders.
                await self._send("done", finish_reason=reply.finish_reason, reply=markdown_html(reply.text))
        except Exception:
            logger.exception("try-it stream failed")
            await self._send("error", message="The reply failed; the error was logged.")

    async def _send(self, kind: str, **context: Any) -> None:
        html = render_to_string("providers/try_event.html", {"kind": kind, **context})
        await self.send(text_data=html)
