"""The portal's middleware, each made to run in Django's sync mode.

Under ASGI, Django runs an async-capable `MiddlewareMixin` middleware's `process_request` and
`process_response` each through `sync_to_async`: a thread hop apiece, about fifteen a request
for our stack, and most of a cheap request's CPU (issue 17; bench/cheap_requests.py). Marked
sync-only, the whole chain runs in one thread: Django adapts once, where the chain meets the
server, and once more for an async view (which then runs on the event loop as before). The
classes are otherwise the libraries' own; settings.MIDDLEWARE names them from here (the
API's own middleware, api.middleware, is sync-only too), and
tests/core/test_sync_middleware.py keeps the chain from switching modes more than once.
"""

from __future__ import annotations

from typing import Any

from axes.middleware import AxesMiddleware as _Axes
from csp.middleware import CSPMiddleware as _Csp
from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Message
from django.contrib.sessions.middleware import SessionMiddleware as _Session
from django.middleware.clickjacking import XFrameOptionsMiddleware as _XFrameOptions
from django.middleware.common import CommonMiddleware as _Common
from django.middleware.csrf import CsrfViewMiddleware as _CsrfView
from django.middleware.security import SecurityMiddleware as _Security
from django_htmx.middleware import HtmxMiddleware as _Htmx
from whitenoise.middleware import WhiteNoiseMiddleware as _WhiteNoise


def _sync_only(middleware: type[Any]) -> type[Any]:
    return type(middleware.__name__, (middleware,), {"async_capable": False, "__module__": __name__})


SecurityMiddleware = _sync_only(_Security)
WhiteNoiseMiddleware = _sync_only(_WhiteNoise)
SessionMiddleware = _sync_only(_Session)
CommonMiddleware = _sync_only(_Common)
CsrfViewMiddleware = _sync_only(_CsrfView)
AuthenticationMiddleware = _sync_only(_Authentication)
MessageMiddleware = _sync_only(_Message)
XFrameOptionsMiddleware = _sync_only(_XFrameOptions)
HtmxMiddleware = _sync_only(_Htmx)
CSPMiddleware = _sync_only(_Csp)
AxesMiddleware = _sync_only(_Axes)
