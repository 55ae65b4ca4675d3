"""Pausing Python's cyclic garbage collector around large, short-lived analyses."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Run the block without cyclic garbage collection; reference counting still frees memory.

    Validating and compiling a 10,000-node workflow allocates a few million objects that all
    live until the call returns. The generational collector would traverse them again and
    again while they are being built, finding nothing to free; that made large workflows
    take up to twice as long. The collector's state is restored afterwards (a concurrent
    caller at worst re-enables it early, which only costs time).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
