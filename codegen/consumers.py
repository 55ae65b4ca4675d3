"""A generation page's socket: the job's numbered frames, replayed after a reconnect (see
core.frame_sockets). Access is a tenant socket's (tenants.sockets): any member may follow a
generation, and the socket closes (the page reloading) as soon as that ends. Nothing goes
up: cancelling and the other actions are ordinary POSTs.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from codegen import selectors
from codegen.frames import PAGE, STREAM
from codegen.models import Generation
from core.close_codes import CLOSE_NOT_FOUND
from core.frame_sockets import FrameSocket
from tenants.models import Membership
from tenants.sockets import TenantSocket


def _generation(membership: Membership, generation_id: int) -> Generation | None:
    return selectors.generation_of_tenant(membership.tenant, generation_id)


class GenerationConsumer(TenantSocket, FrameSocket):
    stream = STREAM
    reload_template = f"{PAGE}#reload-frame"
    takes_messages: ClassVar[bool] = False  # the page sends nothing

    async def connect(self) -> None:
        generation_id = int(self.scope["url_route"]["kwargs"]["generation_id"])
        admitted = await self.admit_with(functools.partial(_generation, generation_id=generation_id))
        if admitted is None:
            return
        if admitted[1] is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        await self.follow(generation_id)

    def access_ended_html(self) -> str | None:
        return self.reload_html()

    async def generation_frame(self, event: dict[str, Any]) -> None:
        await self.deliver(event)
