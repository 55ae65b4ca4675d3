"""The deterministic checks across a generated project's files, before any model reviews it.

- every import of a project module names a file of the project, and every imported name
  exists in that module (a definition, an assignment, an import, `__all__`, a submodule);
- requirements.txt lists exactly the third-party distributions the code imports (the
  sandbox's module → distribution table maps one to the other);
- the tests import the project (directly or through their conftest.py);
- the API serves every endpoint of the plan (FastAPI routes, with router prefixes).

Each finding names the file to fix: the importing file, requirements.txt, the API's file.
Files that do not parse are left to the file checks, which report them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from codegen import python_ast
from codegen.checks.files import ProjectContext
from codegen.checks.modules import ImportRef, defined_names, imports_of, module_name_of, parents_of
from codegen.checks.requirements import (
    RequirementUsage,
    normalized_name,
    requirement_findings,
    requirement_name,
)
from codegen.checks.routes import Route, collect_routes, endpoint_key
from codegen.findings import FileFinding
from codegen.plans import Plan

MAX_FINDINGS = 100
MAX_LISTED = 12  # names or routes quoted in one message
# Distributions a module needs at run time without the code importing them.
IMPLIED_DISTRIBUTIONS: dict[str, str] = {
    "fastapi.testclient": "httpx",
    "starlette.testclient": "httpx",
}
# Files whose text may name a distribution the code never imports (`uvicorn` in a
# Dockerfile's CMD, `pytest` in CI): such a requirement is used.
_PROSE_SUFFIXES = frozenset({".md", ".txt", ".rst"})


@dataclass(frozen=True)
class _Source:
    path: str
    tree: ast.Module | None  # None when it does not parse


def check_project(
    files: Mapping[str, str],
    *,
    plan: Plan,
    context: ProjectContext,
    requirements_file: str = "requirements.txt",
) -> list[FileFinding]:
    """The cross-file findings of a project (path -> content)."""
    try:
        checker = _ProjectChecker(files, plan=plan, context=context, requirements_file=requirements_file)
        findings = checker.imports() + checker.requirements() + checker.tests() + checker.endpoints()
    except Exception as error:  # a check that breaks must not break the pipeline: it is a finding
        return [FileFinding("", "not_checked", f"the project checks failed: {error!r}", severity="warning")]
    return findings[:MAX_FINDINGS]


class _ProjectChecker:
    def __init__(
        self, files: Mapping[str, str], *, plan: Plan, context: ProjectContext, requirements_file: str
    ) -> None:
        self.files = files
        self.plan = plan
        self.context = context
        self.requirements_file = requirements_file
        self.sources: dict[str, _Source] = {}  # module -> source
        self.conflicts: list[FileFinding] = []
        for path, content in sorted(files.items(), key=lambda item: not item[0].endswith("/__init__.py")):
            module = module_name_of(path)
            if module is None:
                continue
            if module in self.sources:  # Python imports the package; the module beside it is dead
                self.conflicts.append(
                    FileFinding(
                        path,
                        "module_conflict",
                        f"{path} and {self.sources[module].path} are both the module {module}; "
                        f"Python imports {self.sources[module].path}",
                    )
                )
                continue
            self.sources[module] = _Source(path, _parsed(path, content, context.max_file_bytes))
        self.existing = set(self.sources) | {
            parent for module in self.sources for parent in parents_of(module)
        }
        self.project_tops = {
            module.partition(".")[0] for module in (*self.existing, *context.project_modules)
        }
        self.names: dict[str, tuple[set[str], bool]] = {}
        # normalized distribution -> the files importing it (unguarded: required; guarded: optional)
        self.required: dict[str, list[str]] = {}
        self.optional: set[str] = set()

    # Imports ---------------------------------------------------------------------------------

    def imports(self) -> list[FileFinding]:
        findings: list[FileFinding] = list(self.conflicts)
        for source in self.sources.values():
            if source.tree is None:
                continue
            for ref in imports_of(source.tree, source.path):
                module = ref.module
                if module is None:
                    continue  # above the top-level packages: the file checks report it
                if ref.level or module.partition(".")[0] in self.project_tops:
                    findings += self._project_import(source.path, ref, module)
                else:
                    self._third_party_import(source.path, ref, module)
        return findings

    def _project_import(self, path: str, ref: ImportRef, module: str) -> list[FileFinding]:
        # `import a.b.c` needs a, a.b and a.b.c; `from a.b import c` needs a.b, and c in it.
        for needed in [module] if ref.names else [*parents_of(module), module]:
            if needed not in self.existing:
                return [self._missing_module(path, ref, needed)]
        findings = []
        for name in ref.names:
            if name == "*" or f"{module}.{name}" in self.existing:
                continue
            if not self._defines(module, name):
                findings.append(self._missing_name(path, ref, module, name))
        return findings

    def _defines(self, module: str, name: str) -> bool:
        source = self.sources.get(module)
        if source is None:
            return False  # a namespace package: only its submodules can be imported
        if source.tree is None:
            return True  # unparsable: the file checks report it; no guess here
        if module not in self.names:
            self.names[module] = defined_names(source.tree)
        names, is_open = self.names[module]
        return is_open or name in names

    def _missing_module(self, path: str, ref: ImportRef, module: str) -> FileFinding:
        as_path = module.replace(".", "/")
        return FileFinding(
            path,
            "missing_module",
            f"`{ref.written}` imports {module}, but the project has neither {as_path}.py nor "
            f"{as_path}/__init__.py",
            line=ref.line,
        )

    def _missing_name(self, path: str, ref: ImportRef, module: str, name: str) -> FileFinding:
        source = self.sources.get(module)
        names = sorted(n for n in self.names.get(module, (set(), False))[0] if not n.startswith("_"))
        submodules = sorted(m.rpartition(".")[2] for m in self.existing if m.rpartition(".")[0] == module)
        offered = ", ".join([*names, *submodules][:MAX_LISTED]) or "nothing"
        where = source.path if source else f"the package {module}"
        return FileFinding(
            path,
            "missing_name",
            f"`from {ref.written} import {name}`: {where} does not define {name} (it offers: {offered})",
            line=ref.line,
        )

    def _third_party_import(self, path: str, ref: ImportRef, module: str) -> None:
        distributions = []
        top = module.partition(".")[0]
        if top in self.context.sandbox_modules:
            name = requirement_name(self.context.sandbox_modules[top])
            if name is not None:
                distributions.append(name)
        for imported in [module, *(f"{module}.{name}" for name in ref.names)]:
            if imported in IMPLIED_DISTRIBUTIONS:
                distributions.append(normalized_name(IMPLIED_DISTRIBUTIONS[imported]))
        for distribution in distributions:
            if ref.guarded:
                self.optional.add(distribution)
            elif path not in self.required.setdefault(distribution, []):
                self.required[distribution].append(path)

    # Requirements ----------------------------------------------------------------------------

    def requirements(self) -> list[FileFinding]:
        usage = RequirementUsage(
            required=self.required, optional=frozenset(self.optional), mentioned=self._mentioned_words()
        )
        return requirement_findings(
            self.requirements_file,
            self.files.get(self.requirements_file),
            usage=usage,
            sandbox_modules=self.context.sandbox_modules,
        )

    def _mentioned_words(self) -> set[str]:
        """Words of the project's non-Python, non-prose files (Dockerfile, CI, compose)."""
        docs = {planned.path for planned in self.plan.docs}
        words: set[str] = set()
        for path, content in self.files.items():
            suffix = PurePosixPath(path).suffix.lower()
            if path in docs or path == self.requirements_file or suffix == ".py" or suffix in _PROSE_SUFFIXES:
                continue
            words.update(normalized_name(word) for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", content))
        return words

    # Tests -----------------------------------------------------------------------------------

    def tests(self) -> list[FileFinding]:
        findings = []
        importing = {source.path for source in self.sources.values() if self._imports_project(source)}
        for source in self.sources.values():
            name = PurePosixPath(source.path).name
            if (
                not _is_test_file(source.path)
                or name in {"conftest.py", "__init__.py"}
                or source.tree is None
            ):
                continue
            conftests = [*(f"{folder}/conftest.py" for folder in _folders(source.path)), "conftest.py"]
            if source.path in importing or any(conftest in importing for conftest in conftests):
                continue
            findings.append(
                FileFinding(
                    source.path,
                    "tests_import_nothing",
                    f"{source.path} imports no module of the project (nor does a conftest.py above it): "
                    "it cannot test the service",
                    severity="warning",
                )
            )
        return findings

    def _imports_project(self, source: _Source) -> bool:
        if source.tree is None:
            return False
        return any(
            ref.module is not None
            and (ref.level > 0 or ref.module.partition(".")[0] in self.project_tops)
            and not _is_test_module(ref.module)
            for ref in imports_of(source.tree, source.path)
        )

    # Endpoints -------------------------------------------------------------------------------

    def endpoints(self) -> list[FileFinding]:
        if not self.plan.endpoints:
            return []
        service = {
            module: (source.path, source.tree)
            for module, source in self.sources.items()
            if source.tree is not None and not _is_test_file(source.path)
        }
        routes, app_files = collect_routes(service)
        api_file = self._api_file(routes, app_files)
        findings = []
        for endpoint in self.plan.endpoints:
            if any(_serves(route, endpoint.method, endpoint.path) for route in routes):
                continue
            found = ", ".join(f"{route.method} {route.path}" for route in routes[:MAX_LISTED]) or "none"
            findings.append(
                FileFinding(
                    api_file,
                    "missing_endpoint",
                    f"the plan's {endpoint.method} {endpoint.path} has no route (routes found: {found})",
                )
            )
        return findings

    def _api_file(self, routes: list[Route], app_files: list[str]) -> str:
        if app_files:
            return app_files[0]
        if routes:
            counts: dict[str, int] = {}
            for route in routes:
                counts[route.file] = counts.get(route.file, 0) + 1
            return max(counts, key=counts.__getitem__)
        main = next(
            (
                planned.path
                for planned in self.plan.files
                if PurePosixPath(planned.path).name in {"main.py", "app.py", "api.py"}
            ),
            None,
        )
        return main or ""


def _serves(route: Route, method: str, path: str) -> bool:
    if route.method != method:
        return False
    served, planned = endpoint_key(route.path), endpoint_key(path)
    if route.prefix_known:
        return served == planned
    # Some prefix is unknown: the route serves the planned path if it ends the same way.
    return served == "/" or planned == served or planned.endswith(served)


def _parsed(path: str, content: str, max_bytes: int) -> ast.Module | None:
    if not isinstance(content, str) or "\x00" in content or len(content) > max(max_bytes, 0):
        return None
    try:
        return python_ast.parse(content, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _is_test_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return path.endswith(".py") and (path.startswith("tests/") or name.startswith("test_"))


def _is_test_module(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "tests" or parts[-1].startswith("test_") or parts[-1] == "conftest"


def _folders(path: str) -> Iterable[str]:
    """The folders above a file, nearest first (tests/api/test_x.py → tests/api, tests)."""
    parent = PurePosixPath(path).parent
    while str(parent) != ".":
        yield str(parent)
        parent = parent.parent
