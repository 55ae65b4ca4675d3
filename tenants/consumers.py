"""The tenant's live event socket: open pages subscribe to changes of their tenant."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from core.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from tenants import selectors
from tenants.events import tenant_group
from tenants.member_table import member_table_context
from tenants.models import Membership, User


class TenantEventsConsumer(AsyncWebsocketConsumer):
    """Members (any role) of an active tenant receive its events as HTML fragments."""

    membership: Membership
    group: str

    async def connect(self) -> None:
        user: object = self.scope.get("user")  # a lazy proxy: isinstance sees the real class
        if not isinstance(user, User):  # AnonymousUser when no session signs the socket in
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        slug = self.scope["url_route"]["kwargs"]["tenant_slug"]
        membership = await database_sync_to_async(selectors.membership_for_slug)(user=user, slug=slug)
        if membership is None or membership.tenant.is_suspended:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.membership = membership
        self.group = tenant_group(membership.tenant_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The socket only carries server events; ignore anything the client sends.
        return

    async def tenant_members_changed(self, event: dict[str, Any]) -> None:
        html = await database_sync_to_async(self._render_members)()
        if html is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send(text_data=html)

    def _render_members(self) -> str | None:
        # Re-read the membership: the change may have been this member's own removal or
        # a new role, which decides what the fragment offers.
        current = selectors.membership_for_slug(user=self.membership.user, slug=self.membership.tenant.slug)
        if current is None:
            return None
        self.membership = current
        return render_to_string("tenants/members_live.html", member_table_context(viewer=current))
