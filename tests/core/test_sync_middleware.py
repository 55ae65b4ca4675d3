"""The middleware chain changes mode at most once: every hop between async and sync costs a
thread switch per request (core.sync_middleware), and a cheap request is mostly hops."""

from __future__ import annotations

import itertools

from django.conf import settings
from django.utils.module_loading import import_string


def test_the_chain_switches_from_async_to_sync_at_most_once() -> None:
    modes = [bool(getattr(import_string(path), "async_capable", False)) for path in settings.MIDDLEWARE]
    switches = sum(1 for above, below in itertools.pairwise(modes) if above != below)
    assert switches <= 1, list(zip(settings.MIDDLEWARE, modes, strict=True))
    assert modes == sorted(modes, reverse=True), "async-capable middleware first, then the sync block"


def test_every_library_middleware_is_still_in_place_under_its_sync_name() -> None:
    """django-axes's own check looks for its dotted path (silenced in settings): this one
    looks for the classes, so that a lockout still becomes the lockout page."""
    from axes.middleware import AxesMiddleware

    classes = [import_string(path) for path in settings.MIDDLEWARE]
    assert any(issubclass(cls, AxesMiddleware) for cls in classes)
    assert issubclass(classes[-1], AxesMiddleware), "last, as django-axes requires"
