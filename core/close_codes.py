"""WebSocket close codes, in the application range (4000-4999) so pages can tell why.

CLOSE_UNAVAILABLE is the registered "try again later" instead: the page's socket
(htmx's ws extension) reconnects after it, with backoff, as after a restart.
"""

from __future__ import annotations

CLOSE_UNAUTHENTICATED = 4401  # no signed-in session (or it ended: logged out, expired)
# Not a member (or no longer), a role too low (or no longer enough), the tenant suspended,
# or a page of another origin.
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404  # no such object in the tenant
CLOSE_CLOSED = 4409  # the object no longer takes input (a finished conversation)
CLOSE_UNAVAILABLE = 1013  # Redis (the channel layer, the frames) cannot be reached
