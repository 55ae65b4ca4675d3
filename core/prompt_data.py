"""User text in prompts, kept as data: between markers the text cannot close.

Instructions live in the system prompt, which holds nothing a user wrote; what the user wrote
reaches the model only inside a user-role message, wrapped by `as_data`.
"""

from __future__ import annotations

OPEN = "<<<USER_DATA"
CLOSE = "USER_DATA>>>"


def as_data(text: str) -> str:
    """Text between data markers; a marker inside the text is defused so it cannot end the block."""
    defused = text.replace(CLOSE, "USER_DATA>>\u200b>").replace(OPEN, "<\u200b<<USER_DATA")
    return f"{OPEN}\n{defused}\n{CLOSE}"
