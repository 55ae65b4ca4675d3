"""A run page's socket: the run's numbered frames, replayed after a reconnect (see
core.frame_sockets). Access is a tenant socket's (tenants.sockets): any member may follow a
run, and the socket closes (the page reloading) as soon as that ends. Nothing goes up:
cancelling and the other actions are ordinary POSTs.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from core.close_codes import CLOSE_NOT_FOUND
from core.frame_sockets import FrameSocket
from runs import selectors
from runs.frames import PAGE, STREAM
from runs.models import Run
from tenants.models import Membership
from tenants.sockets import TenantSocket


def _run(membership: Membership, run_id: int) -> Run | None:
    return selectors.run_of_tenant(membership.tenant, run_id)


class RunConsumer(TenantSocket, FrameSocket):
    stream = STREAM
    reload_template = f"{PAGE}#reload-frame"
    takes_messages: ClassVar[bool] = False  # the page sends nothing

    async def connect(self) -> None:
        run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        admitted = await self.admit_with(functools.partial(_run, run_id=run_id))
        if admitted is None:
            return
        if admitted[1] is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        await self.follow(run_id)

    def access_ended_html(self) -> str | None:
        return self.reload_html()

    async def run_frame(self, event: dict[str, Any]) -> None:
        await self.deliver(event)
