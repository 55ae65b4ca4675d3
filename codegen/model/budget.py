"""Fitting a prompt's sections into a budget of characters.

A prompt carries the interfaces of every file a file depends on and an example file, and a
project may have forty files: sent whole they would overflow the model's context window.
Each section is data (user text, generated code) wrapped by `as_data`; `fit` shares the
room left by the fixed instructions between the sections so that short ones stay whole and
long ones are cut to the same length, and `data_block` cuts a section so its wrapped form
is within its share — exactly, even when defusing markers inside the text lengthens it.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.prompt_data import as_data

EMPTY_BLOCK = len(as_data(""))


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    marker = f"\n… ({len(text)} characters, cut here)"
    if limit <= len(marker):
        return ""
    return text[: limit - len(marker)] + marker


def data_block(text: str, limit: int) -> str:
    """`text` between data markers, cut so the whole block is at most `limit` characters
    ("" when not even the markers fit)."""
    room = limit - EMPTY_BLOCK
    if room < 0:
        return ""
    block = as_data(clip(text, room))
    # Defusing a marker inside the text adds a character: cut again by what it added.
    while len(block) > limit and room > 0:
        room = max(0, room - (len(block) - limit))
        block = as_data(clip(text, room))
    return block if len(block) <= limit else ""


def block_size(text: str) -> int:
    """The characters `text` takes between data markers, uncut."""
    return len(as_data(text))


def fit(demands: Sequence[int], room: int, caps: Sequence[int | None] | None = None) -> list[int]:
    """Shares of `room` for sections that want `demands` characters (each at most its cap):
    max-min fair, so every section gets what it wants or the same share as the largest."""
    wanted = [
        max(0, min(demand, cap) if cap is not None else demand)
        for demand, cap in zip(demands, caps or [None] * len(demands), strict=True)
    ]
    shares = [0] * len(wanted)
    left = max(0, room)
    order = sorted(range(len(wanted)), key=lambda index: wanted[index])
    for position, index in enumerate(order):
        fair = left // (len(order) - position)
        shares[index] = min(wanted[index], fair)
        left -= shares[index]
    return shares
