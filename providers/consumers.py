"""The Providers page's "Try it" box: a prompt goes over the socket, the reply streams back."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from core.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from providers import gateway
from providers.forms import TryForm
from providers.interface import (
    GatewayRequest,
    Message,
    Task,
)
from providers.stream_reply import read_stream
from tenants import selectors as tenant_selectors
from tenants.models import Membership, Role, User

logger = logging.getLogger(__name__)


class TryConsumer(AsyncWebsocketConsumer):
    """Admins of an active tenant send prompts to one of its providers and watch the reply."""

    membership: Membership
    running: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user: object = self.scope.get("user")  # a lazy proxy: isinstance sees the real class
        if not isinstance(user, User):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        slug = self.scope["url_route"]["kwargs"]["tenant_slug"]
        membership = await database_sync_to_async(tenant_selectors.membership_for_slug)(user=user, slug=slug)
        if membership is None or membership.tenant.is_suspended or not membership.can(Role.ADMIN):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.membership = membership
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.running is not None:
            self.running.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            payload = json.loads(text_data or "")
        except json.JSONDecodeError:
            await self._send("error", message="The message could not be read.")
            return
        form = TryForm(payload if isinstance(payload, dict) else {})
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
            await read_stream(
                gateway.stream(request),
                on_start=lambda event: self._send("start", provider=event.provider, model=event.model),
                on_token=lambda event: self._send("token", text=event.text),
                on_usage=lambda event: self._send("usage", usage=event),
                on_done=lambda event: self._send("done", finish_reason=event.finish_reason),
                on_error=lambda event: self._send("error", message=f"{event.code.value}: {event.message}"),
            )
        except Exception:
            logger.exception("try-it stream failed")
            await self._send("error", message="The reply failed; the error was logged.")

    async def _send(self, kind: str, **context: Any) -> None:
        html = render_to_string("providers/try_event.html", {"kind": kind, **context})
        await self.send(text_data=html)
