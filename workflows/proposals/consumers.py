"""A proposal page's socket: the job's numbered frames, replayed after a reconnect (see
core.frame_sockets). Access is a tenant socket's (tenants.sockets): any member may follow a
proposal, and the socket closes (the page reloading) as soon as that ends. Nothing goes up:
accepting and rejecting are ordinary POSTs.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from core.close_codes import CLOSE_NOT_FOUND
from core.frame_sockets import FrameSocket
from tenants.models import Membership
from tenants.sockets import TenantSocket
from workflows.models import WorkflowProposal
from workflows.proposals import selectors as proposal_selectors
from workflows.proposals.frames import PAGE, STREAM


def _proposal(membership: Membership, proposal_id: int) -> WorkflowProposal | None:
    return proposal_selectors.proposal_of_tenant(membership.tenant, proposal_id)


class ProposalConsumer(TenantSocket, FrameSocket):
    stream = STREAM
    reload_template = f"{PAGE}#reload-frame"
    takes_messages: ClassVar[bool] = False  # the page sends nothing

    async def connect(self) -> None:
        proposal_id = int(self.scope["url_route"]["kwargs"]["proposal_id"])
        admitted = await self.admit_with(functools.partial(_proposal, proposal_id=proposal_id))
        if admitted is None:
            return
        if admitted[1] is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        await self.follow(proposal_id)

    def access_ended_html(self) -> str | None:
        return self.reload_html()

    async def proposal_frame(self, event: dict[str, Any]) -> None:
        await self.deliver(event)
