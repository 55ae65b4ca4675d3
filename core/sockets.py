"""The base of the portal's WebSockets (core.frame_sockets, tenants.sockets and their consumers).

- Messages are dispatched without channels' `close_old_connections` before each one: that is
  a call into the one database thread per frame per socket, so every frame waited behind the
  turns' queries (and closed the kept SQLite connection). These sockets touch the database
  only through `database_sync_to_async`, which tidies the connections around each call.
- Once the server has closed a socket (access ended, a reload frame sent), nothing more is
  sent on it, whatever was already on its way.
- Redis out of reach (the channel layer, the kept frames) closes the socket with
  CLOSE_UNAVAILABLE and one line in the log: a handshake is refused cleanly (no traceback,
  no 500), and an open page's socket reconnects with backoff until Redis is back.
- `release()` stops what a socket runs and leaves its groups: when the page goes, and at once
  when the server closes the socket.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, WebSocketConnectEvent
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from core.close_codes import CLOSE_UNAVAILABLE
from core.redis import UNAVAILABLE

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope

logger = logging.getLogger(__name__)


class Socket(AsyncWebsocketConsumer):
    """Subclasses override `release()` (calling super) to stop their tasks and leave their
    groups; it must not raise when Redis is unreachable."""

    connecting = False  # the handshake's message was taken
    accepted = False
    closing = False  # closed by the server or gone: nothing more is sent

    async def __call__(
        self, scope: _ChannelScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        try:
            await super().__call__(scope, receive, send)
        except UNAVAILABLE as error:
            # The channel layer could not give the socket its channel (it subscribes first,
            # before the handshake's message is read): refuse the handshake.
            logger.warning("socket %s refused: Redis is unreachable (%s)", scope.get("path"), error)
            if not self.connecting:
                message = await receive()
                if message.get("type") != "websocket.connect":
                    return
            await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE, "reason": ""})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """As channels dispatches, without `close_old_connections` (see above), and with
        Redis out of reach closing the socket instead of failing it."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        except UNAVAILABLE as error:
            logger.warning("socket %s closed: Redis is unreachable (%s)", self.scope.get("path"), error)
            await self.close(code=CLOSE_UNAVAILABLE)
            await self.release()

    async def websocket_connect(self, message: WebSocketConnectEvent) -> None:
        self.connecting = True
        await super().websocket_connect(message)

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        self.accepted = True
        await super().accept(subprotocol, headers)

    async def send(  # type: ignore[override]  # channels' own signature for sockets
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if self.closing:
            return
        await super().send(text_data, bytes_data, close)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if self.closing:
            return
        self.closing = True
        await super().close(code, reason)

    async def refuse(self, code: int) -> None:
        """Close the socket with `code` and release it: nothing more reaches the page."""
        await self.close(code=code)
        await self.release()

    async def disconnect(self, code: int) -> None:
        self.closing = True
        await self.release()

    async def release(self) -> None:
        """Stop what the socket runs and leave its groups (idempotent)."""

    async def leave_group(self, group: str) -> None:
        """Leave a group; without Redis there is nothing to leave (the process's
        subscriptions went with the connection)."""
        try:
            await self.channel_layer.group_discard(group, self.channel_name)
        except UNAVAILABLE:
            logger.info("socket %s left %s without Redis", self.channel_name, group)
