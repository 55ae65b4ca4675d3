"""safe_relative_path: the one answer to "may this path be written" for plans, zips and trees."""

from __future__ import annotations

import pytest

from codegen.checks.paths import safe_relative_path

SAFE = [
    ("app/main.py", "app/main.py"),
    ("requirements.txt", "requirements.txt"),
    (".github/workflows/ci.yml", ".github/workflows/ci.yml"),
    (".gitignore", ".gitignore"),
    (".env.example", ".env.example"),
    ("Dockerfile", "Dockerfile"),
    ("k8s/deployment.yaml", "k8s/deployment.yaml"),
    ("docs/my notes.md", "docs/my notes.md"),
    ("café/menu.py", "café/menu.py"),
    ("cafe\u0301/menu.py", "café/menu.py"),  # decomposed é comes back composed (NFC)
    ("console.py", "console.py"),  # only the exact device names are refused
    ("a" * 100 + "/b.py", "a" * 100 + "/b.py"),
]

UNSAFE = [
    ("", "empty"),
    ("/etc/passwd", "absolute"),
    ("//server/share/x.py", "absolute, UNC with slashes"),
    ("\\\\server\\share\\x.py", "UNC with backslashes"),
    ("C:\\Windows\\x.py", "drive letter"),
    ("C:/x.py", "drive letter, forward slash"),
    ("c:x.py", "drive-relative"),
    ("app\\main.py", "backslash"),
    ("../secret.py", "parent"),
    ("app/../../secret.py", "parent in the middle"),
    ("app/..", "parent at the end"),
    ("./app/main.py", "dot segment"),
    ("app/./main.py", "dot segment in the middle"),
    ("app//main.py", "empty segment"),
    ("app/", "trailing slash"),
    ("app/main.py\x00.txt", "NUL"),
    ("app/\x1b[31mred.py", "escape sequence"),
    ("app/main\n.py", "newline"),
    ("app/\u202etxt.py", "right-to-left override"),
    ("app/zero\u200bwidth.py", "zero-width space"),
    ("\uff0e\uff0e/secret.py", "full-width dots make .."),
    ("app\uff0f..\uff0fsecret.py", "full-width slashes around .."),
    ("\u2025/secret.py", "two-dot leader is .. under NFKC"),
    ("x" * 201, "path over 200 characters"),
    ("a/" + "b" * 101, "segment over 100 characters"),
    ("-rf.py", "looks like an option"),
    ("app/--help", "option segment"),
    ("app/main.py ", "trailing space"),
    (" app/main.py", "leading space"),
    ("app/main.", "trailing dot"),
    ("CON", "Windows device"),
    ("app/aux.py", "Windows device with an extension"),
    ("lpt1.txt", "Windows printer"),
    (".git/config", "a repository's config"),
    ("sub/.GIT/hooks/pre-commit", "hooks, any case"),
    ("app/file:stream.py", "alternate data stream"),
    ("app/what?.py", "wildcard"),
    ("app/<x>.py", "angle brackets"),
    ("app/a|b.py", "pipe"),
    ('app/"q".py', "quote"),
    ("app/\ud800.py", "lone surrogate"),
]


@pytest.mark.parametrize(("path", "expected"), SAFE)
def test_it_keeps_safe_paths(path: str, expected: str) -> None:
    assert safe_relative_path(path) == expected


@pytest.mark.parametrize(("path", "why"), UNSAFE, ids=[why for _path, why in UNSAFE])
def test_it_refuses_unsafe_paths(path: str, why: str) -> None:
    assert safe_relative_path(path) is None, why


def test_the_limits_are_inclusive() -> None:
    assert safe_relative_path("x" * 200) is None  # one segment over 100
    assert safe_relative_path("/".join(["y" * 99] * 2)) is not None  # 199 characters
    assert safe_relative_path("/".join(["y" * 99, "z" * 100])) is not None  # exactly 200
    assert safe_relative_path("/".join(["y" * 100, "z" * 100])) is None  # 201


def test_it_answers_none_for_what_is_not_text() -> None:
    assert safe_relative_path(None) is None  # type: ignore[arg-type]
    assert safe_relative_path(b"app/main.py") is None  # type: ignore[arg-type]
