"""Text from users, tenants and models made safe to show on a terminal.

A workflow's activity name, a provider's error message or a model's reply can carry escape
sequences (colours, cursor moves, window titles, OSC 8 links), bidi overrides that reorder
what is read, or line breaks that forge a line of output. Commands pass every such value
through `printable` before writing it: the characters show as escapes, and do nothing.

Output meant for programs is not escaped here: JSON (json.dumps escapes already) and
generated files (the compiled Go escapes its own literals).
"""

from __future__ import annotations

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_LINE_BREAKS = frozenset("\t\n")


def printable(text: object, *, keep_line_breaks: bool = False) -> str:
    """`text` with each character a terminal would act on, or that does not show, escaped.

    Escaped are the characters Python does not count as printable (the same ones `repr`
    escapes): C0 and C1 controls, DEL, format characters (bidi overrides and isolates,
    zero-width characters), line and paragraph separators, spaces other than the ASCII
    space, surrogates, private-use and unassigned code points. They are shown as `\\x1b`,
    `\\u202e`, `\\U000e0001`, or `\\n`, `\\r`, `\\t`. With `keep_line_breaks`, newlines and
    tabs pass (for multi-line text such as a model's reply); a carriage return never does.
    Backslashes are left as they are: the result is for reading, not for parsing back.
    """
    value = str(text)
    if value.isprintable():
        return value
    return "".join(_shown(character, keep_line_breaks) for character in value)


def _shown(character: str, keep_line_breaks: bool) -> str:
    if character.isprintable() or (keep_line_breaks and character in _LINE_BREAKS):
        return character
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
