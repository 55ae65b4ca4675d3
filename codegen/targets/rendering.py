"""The Jinja2 environment of the code-generation templates, and the filters that make user text safe.

Requirement values come from business users: quotes, triple quotes, backslashes, newlines,
`{{`, `*/`, any unicode, ten thousand characters. Templates never put such text into a file
raw; each place it can land has its filter, which quotes or escapes it for that language (a
Python literal, a docstring line, a comment, YAML, TOML, Markdown, a Dockerfile LABEL). User
text reaches templates as data, so Jinja syntax in it is never evaluated.

Python literals are written the way `ruff format` would write them (line length 88), so a
generated file is format-clean as rendered: a string too long for its line is split into an
implicit concatenation inside parentheses, collections are exploded with a trailing comma.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from pathlib import Path
from typing import Any

import jinja2

LINE_LENGTH = 88  # ruff's default, which generated projects keep
_INDENT = "    "
_CHUNK_WIDTH = 60  # columns of one piece of a split string literal
_WHITESPACE = re.compile(r"\s+")


def display_width(text: str) -> int:
    """Columns `text` takes in an editor (and in ruff's line-length rule): wide characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def _python_char(char: str, quote: str) -> str:
    if char in ("\\", quote):
        return "\\" + char
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    if char.isprintable() and not 0xD800 <= ord(char) <= 0xDFFF:
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _quoted(text: str) -> str:
    # ruff's preference: double quotes, unless the text holds more double quotes than single.
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + "".join(_python_char(char, quote) for char in text) + quote


def _python_string_pieces(text: str) -> list[str]:
    """`text` cut into pieces of about _CHUNK_WIDTH columns once escaped, after a space where possible."""
    pieces: list[str] = []
    current = ""
    width = 0
    for char in text:
        current += char
        width += display_width(_python_char(char, '"'))
        if width >= _CHUNK_WIDTH or (char == " " and width >= _CHUNK_WIDTH - 12):
            pieces.append(current)
            current, width = "", 0
    if current or not pieces:
        pieces.append(current)
    return pieces


def python_string(text: str, indent: int = 0, prefix: int = 0, suffix: int = 1) -> str:
    """A Python string literal of `text` for a line that starts `indent` levels deep with `prefix`
    columns before the literal and `suffix` columns after it (a trailing comma by default)."""
    single = _quoted(text)
    if indent * 4 + prefix + display_width(single) + suffix <= LINE_LENGTH:
        return single
    inner = _INDENT * (indent + 1)
    # ruff puts a literal that fits on a line of its own inside parentheses; only a longer one
    # stays split, one piece a line.
    if (indent + 1) * 4 + display_width(single) <= LINE_LENGTH:
        return f"(\n{inner}{single}\n{_INDENT * indent})"
    lines = "\n".join(f"{inner}{_quoted(piece)}" for piece in _python_string_pieces(text))
    return f"(\n{lines}\n{_INDENT * indent})"


def python_literal(value: Any, indent: int = 0, prefix: int = 0, suffix: int = 1) -> str:
    """A JSON value as Python source, as ruff formats it: non-empty lists and dicts exploded
    one item a line with trailing commas (which keeps them exploded), long strings split."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f'float("{value}")'
    if isinstance(value, str):
        return python_string(value, indent, prefix, suffix)
    inner = _INDENT * (indent + 1)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [f"{inner}{python_literal(item, indent + 1)}," for item in value]
        return "[\n" + "\n".join(items) + f"\n{_INDENT * indent}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        rows = []
        for key, item in value.items():
            # A key stays one literal, however long: ruff would not split it either.
            key_source = _quoted(str(key))
            rows.append(
                f"{inner}{key_source}: "
                f"{python_literal(item, indent + 1, prefix=display_width(key_source) + 2)},"
            )
        return "{\n" + "\n".join(rows) + f"\n{_INDENT * indent}}}"
    return python_string(str(value), indent, prefix, suffix)


def one_line(text: Any, width: int = 72) -> str:
    """`text` on one line: whitespace collapsed, invisible characters dropped, cut at `width` columns."""
    flat = _WHITESPACE.sub(" ", str(text))
    flat = "".join(char for char in flat if char.isprintable()).strip()
    if display_width(flat) <= width:
        return flat
    cut = ""
    for char in flat:
        if display_width(cut + char) > width - 1:
            break
        cut += char
    return cut.rstrip() + "…"


def python_docline(text: Any, width: int = 60) -> str:
    """Text for a line of a triple-quoted docstring: no backslash escapes, no closing quotes."""
    line = one_line(text, width).replace("\\", "/").replace('"', "'")
    return line or "-"


def comment(text: Any, width: int = 72) -> str:
    """Text for a line comment in any language (`#`, `--`, `//`): one line, no comment closers."""
    # A trailing backslash would continue a C or shell comment onto the next line.
    return one_line(text, width).replace("*/", "* /").rstrip("\\ ") or "-"


def _escaped(text: str, escapes: dict[str, str], fallback: str) -> str:
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif char.isprintable() and not 0xD800 <= ord(char) <= 0xDFFF:
            out.append(char)
        else:
            code = ord(char)
            out.append(fallback.format(code=code) if code <= 0xFFFF else f"\\U{code:08x}")
    return "".join(out)


_QUOTED_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def yaml_string(text: Any) -> str:
    """A double-quoted YAML scalar (every character escaped that YAML would not take as is)."""
    return '"' + _escaped(str(text), _QUOTED_ESCAPES, "\\u{code:04x}") + '"'


def toml_string(text: Any) -> str:
    """A TOML basic string."""
    return '"' + _escaped(str(text), _QUOTED_ESCAPES, "\\u{code:04x}") + '"'


def dockerfile_string(text: Any, width: int = 200) -> str:
    """A double-quoted Dockerfile value (LABEL): one line, `$` not expanded."""
    line = one_line(text, width)
    return '"' + line.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]|~])")
_MARKDOWN_BLOCK_MARK = re.compile(r"^([#+=-])")
_MARKDOWN_ORDERED_MARK = re.compile(r"^(\d+)([.)])")


def _flat(text: Any) -> str:
    flat = _WHITESPACE.sub(" ", str(text)).strip()
    return "".join(char for char in flat if char.isprintable())


def markdown_text(text: Any) -> str:
    """User text as inline Markdown that shows literally: no markup, no HTML, one line (safe at
    the start of a line and in a table cell too)."""
    flat = _flat(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    flat = _MARKDOWN_INLINE.sub(r"\\\1", flat)
    flat = _MARKDOWN_BLOCK_MARK.sub(r"\\\1", flat)
    return _MARKDOWN_ORDERED_MARK.sub(r"\1\\\2", flat)


def markdown_code(text: Any, table: bool = False) -> str:
    """Text as an inline code span, whatever backticks it holds; in a table cell `|` is escaped."""
    flat = _flat(text).replace("|", "\\|") if table else _flat(text)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {flat} " if flat.startswith("`") or flat.endswith("`") else flat
    return f"{fence}{padded}{fence}" if flat else ""


def markdown_value(value: Any) -> str:
    """A requirement's JSON value as inline Markdown: lists joined with commas, skipped shown so."""
    if value is None:
        return "*(skipped)*"
    if isinstance(value, list):
        return ", ".join(markdown_text(item) for item in value) or "*(none)*"
    if isinstance(value, dict):
        return markdown_text(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return markdown_text(value)


FILTERS = {
    "py_literal": python_literal,
    "py_string": python_string,
    "py_docline": python_docline,
    "comment": comment,
    "one_line": one_line,
    "yaml_string": yaml_string,
    "toml_string": toml_string,
    "dockerfile_string": dockerfile_string,
    "md": markdown_text,
    "md_code": markdown_code,
    "md_value": markdown_value,
}


@functools.cache
def environment(templates: Path) -> jinja2.Environment:
    """The environment for the templates in `templates`: strict, not HTML-escaping, with the filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        # Code, not HTML: HTML escaping would corrupt it. User text goes through the filters above.
        autoescape=False,  # noqa: S701
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env
