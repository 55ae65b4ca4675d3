"""Node and edge ids in editor URLs.

Ids come from documents (imports, AI, the original compiler's files), so they may hold any
text, "/" included, which a path segment cannot carry. Plain ids stay readable in the URL;
anything else travels base64url-encoded behind a "~" (which no plain id starts with).
"""

from __future__ import annotations

import base64
import binascii
import re

PLAIN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class ElementIdConverter:
    regex = r"[^/]+"

    def to_python(self, value: str) -> str:
        if not value.startswith("~"):
            return value
        encoded = value[1:]
        try:
            return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError) as problem:
            raise ValueError(f"not an encoded id: {value!r}") from problem

    def to_url(self, value: str) -> str:
        if PLAIN_ID.fullmatch(value):
            return value
        return "~" + base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii").rstrip("=")
