"""Receivers of Django's signals that concern tenants' live sockets."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenants.events import session_digest, user_access_changed_on_commit


def sockets_close_on_logout(sender: type, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Close the sockets the session that is logging out opened (its pages in other tabs).

    Sent before Django flushes the session: the event names the session, so its sockets
    close without reading a session that may still exist for a moment."""
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    user_id = getattr(user, "pk", None)
    if user_id is None or not session_key:
        return
    user_access_changed_on_commit(user_id, ended_session=session_digest(session_key))
