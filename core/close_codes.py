"""WebSocket close codes, in the application range (4000-4999) so pages can tell why."""

from __future__ import annotations

CLOSE_UNAUTHENTICATED = 4401  # no signed-in session
CLOSE_FORBIDDEN = 4403  # not a member (or no longer), or the tenant is suspended
CLOSE_NOT_FOUND = 4404  # no such object in the tenant
CLOSE_CLOSED = 4409  # the object no longer takes input (a finished conversation)
