"""Which pages may open the site's WebSockets: the handshake's Origin, scheme, host and port.

A browser opens a WebSocket from any page and sends the site's cookies with it (cookies are
not bound to a port or a scheme); what tells the site's own pages apart is the Origin header,
the page's scheme, host and port. Comparing hosts only (channels' AllowedHostsOriginValidator)
lets a page on the same host at another port, or over plain http, act as the signed-in user.

An Origin is accepted when it is, exactly (scheme, host and port; default ports filled in):
- the origin of SITE_ROOT, the site's public address (e.g. `https://sce.example.com` behind
  a TLS proxy, whatever Host header the proxy passes on); or
- the socket's own origin as the browser addressed it: the Host header, when it names one of
  ALLOWED_HOSTS, with the scheme the socket came in on (`wss`/https, or `ws`/http; https
  also when TRUST_X_FORWARDED_PROTO is set and the proxy says so) and the Host's port. That
  is the page served by the very server the socket reaches, as `serve` on 127.0.0.1:8000,
  or on a LAN address, serves both. Never plain http when SITE_ROOT is https: an https
  site's pages are not http ones, and a page at http://its-host is anyone's on the network.

Anything else (no Origin, `null`, another port, another scheme, another host) is refused
before the handshake completes (HTTP 403).

Sockets under /api/ are the public API's: programs present an API key in the handshake, and
a key is no cookie (a page can only send one it was given), so they need no origin check (a
program sends no Origin; a page elsewhere, its own). They are handed no cookies at all, so
no socket there can ever act on a browser's session.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from core.close_codes import CLOSE_FORBIDDEN

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # scheme, host (IPv6 without brackets), port


def parse_origin(value: str) -> Origin | None:
    """An origin (`scheme://host[:port]`) as a comparable triple; None if it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    values = [value for key, value in scope.get("headers", []) if key == name]
    if len(values) != 1:
        return None  # missing, or sent twice: nothing to trust
    return bytes(values[0]).decode("latin1")


def own_origin(scope: dict[str, Any]) -> Origin | None:
    """The origin the browser addressed this socket at, if its Host is an allowed host."""
    host = _header(scope, b"host")
    if host is None:
        return None
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme") == "wss"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header is not None:
        # ("HTTP_X_FORWARDED_PROTO", "https") names the header as Django's request.META does.
        name = proxy_header[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        secure = secure or _header(scope, name) == proxy_header[1]
    scheme = "https" if secure else "http"
    if scheme == "http" and settings.SITE_ROOT.startswith("https:"):
        # An https site's pages are never plain http: such a page is someone else's (a
        # network attacker's on the same host), or a proxy that did not say it was https.
        return None
    return scheme, domain.strip("[]"), int(port) if port else DEFAULT_PORTS[scheme]


KEY_AUTHENTICATED_PREFIX = "/api/"


def key_authenticated(scope: dict[str, Any]) -> bool:
    """Whether the socket is one of the public API's, authenticated by a key (see above)."""
    return str(scope.get("path", "")).startswith(KEY_AUTHENTICATED_PREFIX)


def without_cookies(scope: dict[str, Any]) -> dict[str, Any]:
    return {
        **scope,
        "headers": [(name, value) for name, value in scope.get("headers", []) if name.lower() != b"cookie"],
    }


def site_origins() -> set[Origin]:
    """The site's public origin(s): SITE_ROOT's."""
    origin = parse_origin(settings.SITE_ROOT)
    return {origin} if origin is not None else set()


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Whether the handshake's Origin is the site's own (see the module's docstring)."""
    header = _header(scope, b"origin")
    origin = parse_origin(header) if header is not None else None
    if origin is None:
        return False
    return origin in site_origins() or origin == own_origin(scope)


class SiteOriginValidator:
    """ASGI middleware for the WebSocket router: a handshake from a foreign origin is
    refused before any consumer (or the channel layer) is involved."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and key_authenticated(scope):
            await self.application(without_cookies(scope), receive, send)
            return
        if scope["type"] != "websocket" or origin_allowed(scope):
            await self.application(scope, receive, send)
            return
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": CLOSE_FORBIDDEN})
