"""The tenant's live event socket: open pages subscribe to changes of their tenant."""

from __future__ import annotations

from typing import Any, ClassVar

from django.template.loader import render_to_string

from core.db import database_sync_to_async
from tenants.events import tenant_group
from tenants.member_table import member_table_context
from tenants.models import Membership
from tenants.sockets import TenantSocket


def _members_html(viewer: Membership) -> str:
    return render_to_string("tenants/members_live.html", member_table_context(viewer=viewer))


class TenantEventsConsumer(TenantSocket):
    """Members (any role) of an active tenant receive its events as HTML fragments."""

    takes_messages: ClassVar[bool] = False
    group: str | None = None

    async def connect(self) -> None:
        membership = await self.admit()
        if membership is None:
            return
        self.group = tenant_group(membership.tenant_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def release(self) -> None:
        group, self.group = self.group, None
        if group is not None:
            await self.leave_group(group)
        await super().release()

    async def tenant_members_changed(self, event: dict[str, Any]) -> None:
        # Access first: the change may have been this member's own removal or a new role,
        # which decides what the fragment offers.
        if not await self.recheck_access():
            return
        await self.send(text_data=await database_sync_to_async(_members_html)(self.membership))
