"""A tenant's sockets: admitted as its pages are, and closed as soon as access ends.

Every socket under /ws/t/<tenant_slug>/ is a TenantSocket. At connect it admits the caller
as `tenant_view` admits a page: signed in, a member of the tenant, the tenant active, and
at least the socket's `open_role`. Access is then read again (the session still signed in:
not logged out, expired or cut off by a password change; the user active; the membership,
its role and the tenant's state) before acting on each message the page sends (a socket
that takes none drops them unread), on each access event, and every
SOCKET_ACCESS_RECHECK_SECONDS while idle (a backstop for an event lost while a process's
subscription was reconnecting). When access has ended the socket
sends its `access_ended_html()` (a frame socket's reload frame: the page then shows what the
server says now, the log-in page or a 404) and closes with CLOSE_UNAUTHENTICATED or
CLOSE_FORBIDDEN. A role that changes but still opens the socket calls `role_changed()`.

Access events (tenants.events) reach two groups each socket joins: its user's (a role
changed, a membership ended, a logout) and its tenant's (suspended). The services that
change access send them on commit; logout sends one naming the session that ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any, ClassVar, TypeVar

from asgiref.typing import WebSocketReceiveEvent
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import constant_time_compare

from core.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from core.db import database_sync_to_async
from core.sockets import Socket
from tenants import selectors
from tenants.events import session_digest, tenant_access_group, user_access_group
from tenants.models import Membership, Role, User

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _opens(membership: Membership, role: Role) -> bool:
    """Whether a membership opens a socket that needs `role`: the tenant active, the role enough."""
    return not membership.tenant.is_suspended and membership.can(role)


def _admission(
    user: User, slug: str, role: Role, load: Callable[[Membership], T]
) -> tuple[Membership, T] | int:
    """At connect (the session was just checked by the auth middleware): the membership and
    what `load` reads for it, in one database call, or the close code."""
    membership = selectors.membership_for_slug(user=user, slug=slug)
    if membership is None or not _opens(membership, role):
        return CLOSE_FORBIDDEN
    return membership, load(membership)


def _session_signs_in(session: SessionBase, user: User) -> bool:
    """Whether the session still signs `user` in, as django.contrib.auth.get_user decides:
    the same user, and the password (hence the session hash) not changed since."""
    if session.get(SESSION_KEY) != str(user.pk) or not user.is_active:
        return False
    stored = session.get(HASH_SESSION_KEY)
    if not stored:
        return False
    if constant_time_compare(stored, user.get_session_auth_hash()):
        return True
    return any(constant_time_compare(stored, fallback) for fallback in user.get_session_auth_fallback_hash())


def access_now(*, user: User, session_key: str | None, slug: str, role: Role) -> Membership | int:
    """The membership if a socket opened by `user` with that session, needing `role`, may
    stay open; otherwise the code to close it with."""
    if not session_key:
        return CLOSE_UNAUTHENTICATED
    session: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    membership = (
        selectors.memberships_of_user(user=user).select_related("user").filter(tenant__slug=slug).first()
    )
    if not _session_signs_in(session, membership.user if membership is not None else user):
        return CLOSE_UNAUTHENTICATED
    if membership is None or not _opens(membership, role):
        return CLOSE_FORBIDDEN
    return membership


def _nothing(membership: Membership) -> None:
    return None


class TenantSocket(Socket):
    """Consumers call `admit()` (or `admit_with(load)`) first in `connect()`, then accept
    (directly or through FrameSocket.follow); `self.membership` is current before each
    message reaches `receive()`."""

    open_role: ClassVar[Role] = Role.VIEWER  # the least role that keeps the socket open
    # Sockets that only carry server events drop what a page sends, unread (no database
    # call a page could repeat at will).
    takes_messages: ClassVar[bool] = True
    user: User
    membership: Membership
    session_key: str | None = None
    access_groups: tuple[str, ...] = ()
    access_watch: asyncio.Task[None] | None = None

    @property
    def tenant_slug(self) -> str:
        return str(self.scope["url_route"]["kwargs"]["tenant_slug"])

    async def admit(self) -> Membership | None:
        """The caller's membership, or None with the socket closed (and why)."""
        admitted = await self.admit_with(_nothing)
        return admitted[0] if admitted is not None else None

    async def admit_with(self, load: Callable[[Membership], T]) -> tuple[Membership, T] | None:
        """The caller's membership and what `load` reads for it (one database call), or None
        with the socket closed (and why)."""
        user: object = self.scope.get("user")  # a lazy proxy: isinstance sees the real class
        if not isinstance(user, User):  # AnonymousUser when no session signs the socket in
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return None
        self.user = user
        session = self.scope.get("session")
        self.session_key = session.session_key if session is not None else None
        # Joined before access is read: a change committed from now on reaches this socket.
        await self._join(user_access_group(user.pk))
        admitted = await database_sync_to_async(_admission)(user, self.tenant_slug, self.open_role, load)
        if not isinstance(admitted, tuple):
            await self.refuse(admitted)
            return None
        self.membership = admitted[0]
        await self._join(tenant_access_group(self.membership.tenant_id))
        self.access_watch = asyncio.get_running_loop().create_task(self._watch_access())
        return admitted

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.access_groups = (*self.access_groups, group)

    async def websocket_receive(self, message: WebSocketReceiveEvent) -> None:
        """Nothing a page sends is acted on without reading its access again."""
        if self.takes_messages and await self.recheck_access():
            await super().websocket_receive(message)

    async def access_changed(self, event: dict[str, Any]) -> None:
        ended = event.get("ended_session")
        if ended and self.session_key and constant_time_compare(ended, session_digest(self.session_key)):
            await self.end_access(CLOSE_UNAUTHENTICATED)
            return
        await self.recheck_access()

    async def recheck_access(self) -> bool:
        """Read access again, closing the socket if it has ended; whether it is still open."""
        if self.closing:
            return False
        now = await database_sync_to_async(access_now)(
            user=self.user, session_key=self.session_key, slug=self.tenant_slug, role=self.open_role
        )
        if isinstance(now, int):
            await self.end_access(now)
            return False
        previous, self.membership = self.membership, now
        if previous.role != now.role:
            await self.role_changed(previous)
        return not self.closing

    async def end_access(self, code: int) -> None:
        """Close the socket because access ended, after telling the page if it can be told."""
        if self.accepted and not self.closing:
            html = self.access_ended_html()
            if html:
                await self.send(text_data=html)
        await self.refuse(code)

    def access_ended_html(self) -> str | None:
        """What the page receives before its socket is closed for lost access."""
        return None

    async def role_changed(self, previous: Membership) -> None:
        """The caller's role changed and still opens the socket (`self.membership` is new)."""

    async def _watch_access(self) -> None:
        while True:
            await asyncio.sleep(settings.SOCKET_ACCESS_RECHECK_SECONDS)
            try:
                if not await self.recheck_access():
                    return
            except Exception:
                # The database out of reach for a moment: the next look tries again.
                logger.warning("socket %s could not check its access", self.scope.get("path"), exc_info=True)

    async def release(self) -> None:
        watch, self.access_watch = self.access_watch, None
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        groups, self.access_groups = self.access_groups, ()
        for group in groups:
            await self.leave_group(group)
        await super().release()
