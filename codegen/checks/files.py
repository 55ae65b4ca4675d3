"""Checking one generated file: it is text of a sane size, it parses, and its imports exist.

Dispatch is by extension. Python is parsed with `ast`, formatted and linted by ruff (run as
a subprocess on stdin, with a timeout, ignoring any configuration and any `# noqa` the
model wrote), and every import must name the standard library, a module of the project's
plan or a package the sandbox offers: a hallucinated import is reported, never removed.
JSON, YAML and TOML are parsed; Go goes through gofmt when it is installed. Nothing here
raises on any input: every problem is a finding.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from codegen import python_ast
from codegen.checks.modules import ImportRef, imports_of, module_name_of, parents_of
from codegen.checks.paths import safe_relative_path
from codegen.findings import FileFinding, Severity

TOOL_TIMEOUT_SECONDS = 20.0
MAX_LINT_FINDINGS = 30
TARGET_PYTHON = "py311"  # the sandbox's interpreter (codegen.sandbox.python_env)

# Rules that find bugs rather than taste: pyflakes, syntax/IO errors, bugbear. B008 is
# FastAPI's idiom (`Depends()` in defaults).
LINT_SELECT = "F,E9,B"
LINT_IGNORE = "B008"
# Pyflakes findings that are untidy rather than wrong: warnings. Every other F is an error.
_LINT_WARNINGS = frozenset({"F401", "F402", "F403", "F405", "F541", "F601", "F602", "F811", "F841", "F842"})
_GOFMT_LINE = re.compile(r"^<standard input>:(\d+):(?:\d+:)?\s*(.*)$")
_TOML_LINE = re.compile(r"at line (\d+)")
# C0 control characters other than tab, newline, form feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ProjectContext:
    project_modules: frozenset[str]  # dotted modules of the plan's .py files, packages included
    sandbox_modules: Mapping[str, str]  # top-level module -> its distribution (or requirement line)
    max_file_bytes: int


@dataclass(frozen=True)
class CheckedFile:
    content: str  # formatted when a formatter ran and succeeded, else as given (made text)
    findings: list[FileFinding]


def project_modules_of(paths: Iterable[str]) -> frozenset[str]:
    """The dotted modules of the .py paths, with the packages that hold them
    (app/main.py → app.main and app; app/__init__.py → app)."""
    modules: set[str] = set()
    for path in paths:
        module = module_name_of(path)
        if module is not None:
            modules.add(module)
            modules.update(parents_of(module))
    return frozenset(modules)


def check_file(path: str, content: str, *, context: ProjectContext) -> CheckedFile:
    """The findings of one file and its content as it should be stored."""
    try:
        return _check(path, content, context)
    except Exception as error:  # a check that breaks must not break the pipeline: it is a finding
        return CheckedFile(
            _as_text(content), [_finding(path, "not_checked", f"the checks failed: {error!r}")]
        )


def _check(path: str, content: str, context: ProjectContext) -> CheckedFile:
    if _looks_binary(content):
        return CheckedFile(
            _as_text(content),
            [_finding(path, "binary_content", "the file has NUL or control bytes: not text")],
        )
    size = len(content.encode("utf-8"))
    if size > context.max_file_bytes:
        kept = content.encode("utf-8")[: max(context.max_file_bytes, 0)].decode("utf-8", "ignore")
        message = f"the file has {size} bytes; at most {context.max_file_bytes} are allowed"
        return CheckedFile(kept, [_finding(path, "too_large", message)])
    name = PurePosixPath(path).name
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".py":
        return _check_python(path, content, context)
    if suffix == ".json":
        return CheckedFile(content, _json_findings(path, content))
    if suffix in {".yaml", ".yml"}:
        return CheckedFile(content, _yaml_findings(path, content))
    if suffix == ".toml":
        return CheckedFile(content, _toml_findings(path, content))
    if suffix == ".go":
        return _check_go(path, content)
    return CheckedFile(content, [])


def _looks_binary(content: str) -> bool:
    if "\x00" in content:
        return True
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: decoded from bytes that were not UTF-8
        return True
    controls = len(_CONTROL.findall(content[:8192]))
    return controls > 0 and controls * 20 > min(len(content), 8192)


def _as_text(content: object) -> str:
    """Content that can be stored and shown: no NUL or stray control bytes, valid UTF-8."""
    if not isinstance(content, str):
        return ""
    return _CONTROL.sub("", content.encode("utf-8", "replace").decode("utf-8"))


# Python ------------------------------------------------------------------------------------


def _check_python(path: str, content: str, context: ProjectContext) -> CheckedFile:
    try:
        tree = python_ast.parse(content, filename=path)
    except SyntaxError as error:
        message = f"{error.msg}" + (f": {error.text.strip()[:120]}" if error.text else "")
        return CheckedFile(content, [_finding(path, "syntax_error", message, line=error.lineno)])
    except (ValueError, RecursionError, MemoryError) as error:
        return CheckedFile(content, [_finding(path, "syntax_error", f"the file cannot be parsed: {error!r}")])
    findings: list[FileFinding] = []
    formatted, format_problem = _ruff_format(path, content)
    if format_problem:
        findings.append(_finding(path, "not_checked", format_problem, severity="warning"))
    findings += _ruff_check(path, formatted)
    findings += _import_findings(path, tree, context)
    return CheckedFile(formatted, findings)


def _ruff_bin() -> str | None:
    try:
        import ruff  # type: ignore[import-untyped]  # ships no type information

        return str(ruff.find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff")


def _run(command: list[str], content: str) -> subprocess.CompletedProcess[str] | str:
    """The finished process, or why it could not run."""
    try:
        return subprocess.run(
            command, input=content, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return f"{PurePosixPath(command[0]).name} took longer than {TOOL_TIMEOUT_SECONDS:.0f}s"
    except (OSError, ValueError) as error:
        return f"{PurePosixPath(command[0]).name} could not run: {error}"


def _stdin_name(path: str, default: str) -> str:
    """The name given to a tool for stdin: a safe path (never read as an option)."""
    safe = safe_relative_path(path)
    return safe if safe is not None else default


def _ruff_format(path: str, content: str) -> tuple[str, str | None]:
    ruff = _ruff_bin()
    if ruff is None:
        return content, "ruff is not installed: the file was not formatted or linted"
    name = _stdin_name(path, "module.py")
    result = _run(
        [ruff, "format", "--isolated", f"--target-version={TARGET_PYTHON}", f"--stdin-filename={name}", "-"],
        content,
    )
    if isinstance(result, str):
        return content, result
    if result.returncode != 0:
        return content, f"ruff format failed: {result.stderr.strip()[:300]}"
    return result.stdout, None


def _ruff_check(path: str, content: str) -> list[FileFinding]:
    ruff = _ruff_bin()
    if ruff is None:
        return []
    name = _stdin_name(path, "module.py")
    command = [
        ruff,
        "check",
        "--isolated",
        "--ignore-noqa",
        "--no-cache",
        f"--target-version={TARGET_PYTHON}",
        f"--select={LINT_SELECT}",
        f"--ignore={LINT_IGNORE}",
        "--output-format=json",
        f"--stdin-filename={name}",
        "-",
    ]
    result = _run(command, content)
    if isinstance(result, str):
        return [_finding(path, "not_checked", result, severity="warning")]
    try:
        reported = json.loads(result.stdout or "[]")
    except ValueError:
        return [
            _finding(
                path, "not_checked", f"ruff check failed: {result.stderr.strip()[:300]}", severity="warning"
            )
        ]
    findings = [_lint_finding(path, item) for item in reported if isinstance(item, dict)]
    return findings[:MAX_LINT_FINDINGS]


def _lint_finding(path: str, item: dict[str, Any]) -> FileFinding:
    code = item.get("code") or "syntax"
    location = item.get("location") if isinstance(item.get("location"), dict) else {}
    row = location.get("row") if isinstance(location, dict) else None
    severity: Severity = "warning" if code in _LINT_WARNINGS or str(code).startswith("B") else "error"
    return _finding(
        path,
        "lint",
        f"{code} {item.get('message', '')}".strip(),
        line=row if isinstance(row, int) else None,
        severity=severity,
    )


def _import_findings(path: str, tree: ast.Module, context: ProjectContext) -> list[FileFinding]:
    findings: list[FileFinding] = []
    reported: set[str] = set()
    for ref in imports_of(tree, path):
        problem = _unresolved(path, ref, context)
        if problem is None or ref.written in reported:
            continue
        reported.add(ref.written)
        severity: Severity = "warning" if ref.guarded else "error"
        findings.append(_finding(path, "unresolved_import", problem, line=ref.line, severity=severity))
    return findings


def _unresolved(path: str, ref: ImportRef, context: ProjectContext) -> str | None:
    """Why `ref` does not resolve, or None when it does."""
    if ref.module is None:
        return f"`{ref.written}` reaches above the project's top-level packages"
    if ref.level:
        if ref.module in context.project_modules:
            return None
        return f"`{ref.written}` (= {ref.module}) is not a module of the project's plan"
    top = ref.module.partition(".")[0]
    project_tops = {module.partition(".")[0] for module in context.project_modules}
    if top in project_tops:
        if ref.module in context.project_modules:
            return None
        return f"`{ref.module}` is not a module of the project's plan"
    if top in sys.stdlib_module_names or top in context.sandbox_modules:
        return None
    if _is_sibling(path, ref.module, context):
        return None
    offered = ", ".join(sorted(context.sandbox_modules)) or "none"
    return (
        f"`{ref.module}` is neither in the standard library, nor a module of the project, nor a "
        f"package the sandbox offers ({offered})"
    )


def _is_sibling(path: str, module: str, context: ProjectContext) -> bool:
    """pytest puts a test's folder on sys.path (rootdir, prepend mode): tests/test_api.py may
    import tests/helpers.py as `helpers`."""
    name = PurePosixPath(path).name
    if not (path.startswith("tests/") or name.startswith("test_") or name == "conftest.py"):
        return False
    folder = ".".join(PurePosixPath(path).parent.parts)
    return f"{folder}.{module}" in context.project_modules if folder else module in context.project_modules


# Data files --------------------------------------------------------------------------------


def _json_findings(path: str, content: str) -> list[FileFinding]:
    try:
        json.loads(content)
    except json.JSONDecodeError as error:
        return [_finding(path, "invalid_json", error.msg, line=error.lineno)]
    except (ValueError, RecursionError) as error:  # a number too long, nesting too deep
        return [_finding(path, "invalid_json", f"{error.__class__.__name__}: {str(error)[:200]}")]
    return []


def _yaml_findings(path: str, content: str) -> list[FileFinding]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for _document in yaml.load_all(content, Loader=loader):  # a safe loader: plain data only
            pass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(part for part in (error.context, error.problem) if part) or "invalid YAML"
        return [_finding(path, "invalid_yaml", message[:300], line=line)]
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        return [_finding(path, "invalid_yaml", f"{error.__class__.__name__}: {str(error)[:200]}")]
    return []


def _toml_findings(path: str, content: str) -> list[FileFinding]:
    try:
        tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        found = _TOML_LINE.search(str(error))
        return [_finding(path, "invalid_toml", str(error)[:300], line=int(found.group(1)) if found else None)]
    except (ValueError, RecursionError) as error:
        return [_finding(path, "invalid_toml", f"{error.__class__.__name__}: {str(error)[:200]}")]
    return []


# Go ----------------------------------------------------------------------------------------


def _check_go(path: str, content: str) -> CheckedFile:
    gofmt = shutil.which("gofmt")
    if gofmt is None:
        return CheckedFile(
            content,
            [_finding(path, "not_checked", "gofmt is not installed: Go is not checked", severity="warning")],
        )
    result = _run([gofmt], content)
    if isinstance(result, str):
        return CheckedFile(content, [_finding(path, "not_checked", result, severity="warning")])
    if result.returncode == 0:
        return CheckedFile(result.stdout, [])
    findings = []
    for line in result.stderr.splitlines()[:MAX_LINT_FINDINGS]:
        match = _GOFMT_LINE.match(line.strip())
        if match:
            findings.append(_finding(path, "syntax_error", match.group(2)[:300], line=int(match.group(1))))
    return CheckedFile(
        content, findings or [_finding(path, "syntax_error", result.stderr.strip()[:300] or "gofmt failed")]
    )


def _finding(
    path: str, code: str, message: str, *, line: int | None = None, severity: Severity = "error"
) -> FileFinding:
    return FileFinding(path=path, code=code, message=message, line=line, severity=severity)
