"""A proposal page's socket: the job's numbered frames, replayed after a reconnect (see
core.frame_sockets). Nothing goes up: accepting and rejecting are ordinary POSTs.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from core.close_codes import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from core.frame_sockets import FrameSocket
from tenants import selectors as tenant_selectors
from tenants.models import User
from workflows.proposals import selectors as proposal_selectors
from workflows.proposals.frames import PAGE, STREAM


def _admitted(user: User, slug: str, proposal_id: int) -> int:
    """CLOSE_FORBIDDEN for a non-member (or a suspended tenant), CLOSE_NOT_FOUND for a
    proposal not of the tenant, 0 to admit: one database call."""
    membership = tenant_selectors.membership_for_slug(user=user, slug=slug)
    if membership is None or membership.tenant.is_suspended:
        return CLOSE_FORBIDDEN
    if proposal_selectors.proposal_of_tenant(membership.tenant, proposal_id) is None:
        return CLOSE_NOT_FOUND
    return 0


class ProposalConsumer(FrameSocket):
    stream = STREAM
    reload_template = f"{PAGE}#reload-frame"

    async def connect(self) -> None:
        user: object = self.scope.get("user")  # a lazy proxy: isinstance sees the real class
        if not isinstance(user, User):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        proposal_id = int(kwargs["proposal_id"])
        refused = await database_sync_to_async(_admitted)(user, kwargs["tenant_slug"], proposal_id)
        if refused:
            await self.close(code=refused)
            return
        await self.follow(proposal_id)

    async def proposal_frame(self, event: dict[str, Any]) -> None:
        await self.deliver(event)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page sends nothing; whatever arrives is ignored."""
