"""Whether a path a model proposed is safe to write: relative, inside the project, portable.

The plan's checks, the zip writer and the file tree writer all ask the same question here,
so a path refused by one is refused by all. Checks run on the text as given and on its
NFKC form, so look-alike characters (a full-width dot or slash) cannot smuggle `..` past
them; the path kept is the NFC form of what was given.
"""

from __future__ import annotations

import re
import unicodedata

MAX_PATH_CHARS = 200
MAX_SEGMENT_CHARS = 100

# Names Windows reserves for devices, whatever the extension: unzipping `aux.py` there fails.
_WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{n}" for n in range(1, 10)} | {f"lpt{n}" for n in range(1, 10)}
)
# Characters that mean something to a file system or a shell beyond a name: a drive or an
# alternate data stream (`:`), Windows' wildcards and quotes.
_FORBIDDEN_CHARS = re.compile(r'[\\:*?"<>|]')
# Control, format (bidi overrides, zero-width), surrogate, private-use and unassigned code
# points: invisible or misleading in a file listing.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def safe_relative_path(path: str) -> str | None:
    """The normalized POSIX relative path, or None when `path` is unsafe to write."""
    if not isinstance(path, str) or not path:
        return None
    normalized = unicodedata.normalize("NFC", path)
    if not _is_safe(normalized) or not _is_safe(unicodedata.normalize("NFKC", path)):
        return None
    return normalized


def _is_safe(path: str) -> bool:
    if not path or len(path) > MAX_PATH_CHARS or path.startswith("/"):
        return False
    if _FORBIDDEN_CHARS.search(path):
        return False
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in path):
        return False
    return all(_is_safe_segment(segment) for segment in path.split("/"))


def _is_safe_segment(segment: str) -> bool:
    if not segment or len(segment) > MAX_SEGMENT_CHARS or segment in {".", ".."}:
        return False
    if segment.startswith("-"):  # read as an option by the tools the file is handed to
        return False
    if segment != segment.strip() or segment.endswith("."):  # Windows drops them: a different file
        return False
    folded = segment.casefold()
    if folded == ".git":  # a repository's config and hooks run code when git is used there
        return False
    return folded.split(".", 1)[0] not in _WINDOWS_DEVICES
