"""Node labels as the graph draws them: wrapped into lines that fit the node's box.

The server cannot measure text, so a line's width is estimated from the advance widths of
DejaVu Sans Bold (in ems), the widest face the graph's font stack ends on: a line estimated
to fit its box fits in the narrower faces too. Characters the table does not know count as
wide (CJK, emoji: one em).
"""

from __future__ import annotations

import functools
import unicodedata

# Advance widths in ems, grouped.
_WIDTH_GROUPS: tuple[tuple[str, float], ...] = (
    (" ", 0.35),
    ("'|", 0.33),
    ("ijlIJ.,:;!", 0.38),
    ('ft()[]{}-`"', 0.48),
    ("r", 0.5),
    ("csz*/\\?“”\u2018\u2019", 0.6),
    ("aegkovxy_+=<>~^#$&", 0.69),
    ("bdhnpqu0123456789", 0.72),
    ("ELFPTZ", 0.69),
    ("ABCKRSVXY", 0.78),
    ("DGHNOQU", 0.85),
    ("wmMW%@", 1.1),
)
_WIDTHS = {char: width for chars, width in _WIDTH_GROUPS for char in chars}
_UNKNOWN_NARROW = 0.72  # other letters of alphabetic scripts (é, ß, Ж…)
_UNKNOWN_WIDE = 1.0  # East Asian wide characters, emoji


@functools.cache
def _char_width(char: str) -> float:
    if char in _WIDTHS:
        return _WIDTHS[char]
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return _UNKNOWN_WIDE
    base = unicodedata.normalize("NFKD", char)[:1]
    if base and base != char and base in _WIDTHS:
        return _WIDTHS[base]  # an accented letter is as wide as its letter
    if unicodedata.combining(char):
        return 0.0
    return _UNKNOWN_NARROW if char.isprintable() else 0.0


def text_width(text: str, font_size: float) -> float:
    """The estimated width of `text` in pixels at `font_size` (never below the real one)."""
    return sum(_char_width(char) for char in text) * font_size


def wrap_label(text: str, *, width: float, font_size: float, max_lines: int) -> tuple[str, ...]:
    """The text in lines no wider than `width`, broken between words (inside a word only when
    the word alone is too wide); past `max_lines`, the last line ends in "…"."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, font_size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if current and text_width(current + char, font_size) > width:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    if len(lines) <= max_lines:
        return tuple(lines)
    kept = lines[:max_lines]
    last = kept[-1]
    while last and text_width(last + "…", font_size) > width:
        last = last[:-1].rstrip()
    kept[-1] = last + "…"
    return tuple(kept)
