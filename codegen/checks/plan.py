"""Reading the plan a model proposes: every value checked before the pipeline relies on it.

The shape is `codegen.plans.PLAN_JSON_SCHEMA`; extra keys are ignored, but every value is
checked: paths are safe and allowed by the target, unique (also ignoring case, for
case-insensitive file systems), no more files than the settings allow, dependencies name
files of the plan and form no cycle, endpoints are well formed and unique. The docs
(README.md, API.md) are written last from the final files, so nothing may depend on them.
A plan stored by `Plan.as_dict` reads back the same (its `docs` key is read too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import networkx as nx

from codegen.checks.paths import safe_relative_path
from codegen.checks.routes import endpoint_key
from codegen.findings import FileFinding
from codegen.plans import Endpoint, Plan, PlannedFile

if TYPE_CHECKING:
    from codegen.targets import Target

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_ENDPOINTS = 200
MAX_ENDPOINT_PATH_CHARS = 200
MAX_PURPOSE_CHARS = 1000
MAX_SUMMARY_CHARS = 500
MAX_NOTES_CHARS = 4000
MAX_LANGUAGE_CHARS = 40
MAX_FINDINGS = 50
MAX_CYCLES_REPORTED = 5

# A path template: literal segments and `{name}` (or `{name:path}`) parameters.
_ENDPOINT_PATH = re.compile(r"^/(?:[A-Za-z0-9._~!$&'()*+,;=:@%-]|\{[A-Za-z_][A-Za-z0-9_]*(?::path)?\}|/)*$")


@dataclass(frozen=True)
class PlanLimits:
    max_files: int
    max_file_bytes: int
    max_project_bytes: int


def read_plan(
    data: object,
    *,
    target: Target,
    limits: PlanLimits,
    docs: tuple[str, ...] = ("README.md", "API.md"),
) -> Plan | list[FileFinding]:
    """The plan in `data` (a model's decoded JSON), or the findings that refuse it."""
    if not isinstance(data, Mapping):
        return [_plan_finding("not_a_plan", "the plan is not a JSON object")]
    rows = data.get("files")
    doc_rows = data.get("docs", [])
    if not isinstance(rows, list) or not isinstance(doc_rows, list):
        return [_plan_finding("not_a_plan", "the plan has no list of files")]
    if len(rows) + len(doc_rows) > limits.max_files:
        return [
            _plan_finding(
                "too_many_files",
                f"the plan has {len(rows) + len(doc_rows)} files; at most {limits.max_files} are allowed",
            )
        ]
    reader = _PlanReader(target=target, limits=limits, doc_names={name.casefold() for name in docs})
    for row in rows:
        reader.read_file(row, as_doc=False)
    for row in doc_rows:
        reader.read_file(row, as_doc=True)
    reader.check_dependencies()
    endpoints = reader.read_endpoints(data.get("endpoints", []))
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        reader.findings.append(_plan_finding("not_a_plan", "the plan's notes are not text"))
        notes = ""
    if not reader.files and not reader.findings:
        reader.findings.append(_plan_finding("empty_plan", "the plan has no files"))
    if reader.findings:
        return reader.findings[:MAX_FINDINGS]
    return Plan(
        files=tuple(reader.files),
        endpoints=endpoints,
        notes=notes[:MAX_NOTES_CHARS],
        docs=tuple(reader.docs),
    )


def plan_layers(plan: Plan) -> list[list[PlannedFile]]:
    """The plan's files (not its docs) in layers: each depends only on earlier layers, so a
    layer's files can be written concurrently. Each layer keeps the plan's order.

    `plan` must have passed `read_plan`: a cycle raises ValueError."""
    position = {planned.path: number for number, planned in enumerate(plan.files)}
    graph = _dependency_graph(plan.files)
    try:
        generations = list(nx.topological_generations(graph))
    except nx.NetworkXUnfeasible as cyclic:
        raise ValueError("the plan's dependencies have a cycle") from cyclic
    by_path = {planned.path: planned for planned in plan.files}
    return [[by_path[path] for path in sorted(layer, key=position.__getitem__)] for layer in generations]


def _dependency_graph(files: tuple[PlannedFile, ...] | list[PlannedFile]) -> nx.DiGraph[str]:
    """An edge from each dependency to the file that depends on it (written after it)."""
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(planned.path for planned in files)
    for planned in files:
        graph.add_edges_from(
            (dependency, planned.path) for dependency in planned.depends_on if dependency in graph
        )
    return graph


class _PlanReader:
    def __init__(self, *, target: Target, limits: PlanLimits, doc_names: set[str]) -> None:
        self.target = target
        self.limits = limits
        self.doc_names = doc_names
        self.files: list[PlannedFile] = []
        self.docs: list[PlannedFile] = []
        self.findings: list[FileFinding] = []
        self.seen: dict[str, str] = {}  # casefolded path -> the path as planned

    def read_file(self, row: object, *, as_doc: bool) -> None:
        if not isinstance(row, Mapping):
            self.findings.append(_plan_finding("bad_file", "a file of the plan is not a JSON object"))
            return
        raw_path = row.get("path")
        if not isinstance(raw_path, str):
            self.findings.append(_plan_finding("bad_file", "a file of the plan has no path"))
            return
        path = safe_relative_path(raw_path)
        if path is None:
            self.findings.append(
                _plan_finding("unsafe_path", f"{_shown(raw_path)} is not a safe relative path")
            )
            return
        if not self._allowed(path):
            extensions = ", ".join(sorted(ext for ext in self.target.allowed_extensions if ext))
            self.findings.append(
                FileFinding(
                    path,
                    "bad_extension",
                    f"{path}: files may end in {extensions}, or be named "
                    f"{', '.join(sorted(self.target.allowed_names))}",
                )
            )
            return
        if not self._unique(path):
            return
        fields = self._fields(path, row)
        if fields is None:
            return
        purpose, language, depends_on = fields
        planned = PlannedFile(path=path, purpose=purpose, language=language, depends_on=depends_on)
        if as_doc or path.casefold() in self.doc_names:
            self.docs.append(planned)
        else:
            self.files.append(planned)

    def _allowed(self, path: str) -> bool:
        name = PurePosixPath(path).name  # ".gitignore" has no suffix, ".env.example" has ".example"
        return (
            name in self.target.allowed_names or PurePosixPath(name).suffix in self.target.allowed_extensions
        )

    def _unique(self, path: str) -> bool:
        folded = path.casefold()
        if folded in self.seen:
            earlier = self.seen[folded]
            same = "twice" if earlier == path else f"and {earlier} (the same name ignoring case)"
            self.findings.append(FileFinding(path, "duplicate_path", f"the plan lists {path} {same}"))
            return False
        # A file and a folder of the same name cannot both exist.
        parents = [str(parent).casefold() for parent in PurePosixPath(path).parents if str(parent) != "."]
        clash = next((self.seen[parent] for parent in parents if parent in self.seen), None)
        clash = clash or next((seen for key, seen in self.seen.items() if key.startswith(folded + "/")), None)
        if clash is not None:
            self.findings.append(
                FileFinding(path, "path_conflict", f"{path} and {clash} need a file and a folder of one name")
            )
            return False
        self.seen[folded] = path
        return True

    def _fields(self, path: str, row: Mapping[object, object]) -> tuple[str, str, tuple[str, ...]] | None:
        purpose, language, depends_on = (
            row.get("purpose", ""),
            row.get("language", ""),
            row.get("depends_on", []),
        )
        if not isinstance(purpose, str) or not isinstance(language, str):
            self.findings.append(FileFinding(path, "bad_file", f"{path}: purpose and language must be text"))
            return None
        if not isinstance(depends_on, list) or not all(isinstance(item, str) for item in depends_on):
            self.findings.append(FileFinding(path, "bad_file", f"{path}: depends_on must be a list of paths"))
            return None
        if len(depends_on) > self.limits.max_files:
            self.findings.append(FileFinding(path, "bad_file", f"{path}: depends on more files than allowed"))
            return None
        dependencies: list[str] = []
        for item in depends_on:
            dependency = safe_relative_path(item) or item
            if dependency not in dependencies:
                dependencies.append(dependency)
        return (
            purpose.strip()[:MAX_PURPOSE_CHARS],
            language.strip().lower()[:MAX_LANGUAGE_CHARS],
            tuple(dependencies),
        )

    def check_dependencies(self) -> None:
        file_paths = {planned.path for planned in self.files}
        doc_paths = {planned.path for planned in self.docs}
        for planned in (*self.files, *self.docs):
            for dependency in planned.depends_on:
                if dependency == planned.path:
                    self.findings.append(
                        FileFinding(planned.path, "self_dependency", f"{planned.path} depends on itself")
                    )
                elif dependency in doc_paths:
                    self.findings.append(
                        FileFinding(
                            planned.path,
                            "doc_dependency",
                            f"{planned.path} depends on {dependency}, which is written last from the "
                            "other files",
                        )
                    )
                elif dependency not in file_paths:
                    self.findings.append(
                        FileFinding(
                            planned.path,
                            "unknown_dependency",
                            f"{planned.path} depends on {_shown(dependency)}, not a file of the plan",
                        )
                    )
        if any(finding.code == "self_dependency" for finding in self.findings):
            return  # a self-loop is its own finding, not also a cycle
        graph = _dependency_graph(self.files)
        for _ in range(MAX_CYCLES_REPORTED):
            try:
                cycle = nx.find_cycle(graph)
            except nx.NetworkXNoCycle:
                return
            # Edges point from a dependency to its dependent: read backwards, "a depends on b".
            chain = [edge[1] for edge in reversed(cycle)] + [cycle[-1][1]]
            self.findings.append(
                FileFinding(
                    chain[0],
                    "dependency_cycle",
                    "the dependencies go round in a cycle: " + " → ".join(chain),
                )
            )
            graph.remove_edge(cycle[0][0], cycle[0][1])

    def read_endpoints(self, rows: object) -> tuple[Endpoint, ...]:
        if not isinstance(rows, list):
            self.findings.append(_plan_finding("not_a_plan", "the plan's endpoints are not a list"))
            return ()
        if len(rows) > MAX_ENDPOINTS:
            self.findings.append(
                _plan_finding("bad_endpoint", f"the plan has {len(rows)} endpoints; at most {MAX_ENDPOINTS}")
            )
            return ()
        endpoints: list[Endpoint] = []
        seen: dict[tuple[str, str], str] = {}
        for row in rows:
            endpoint = self._endpoint(row)
            if endpoint is None:
                continue
            key = (endpoint.method, endpoint_key(endpoint.path))
            if key in seen:
                self.findings.append(
                    _plan_finding(
                        "duplicate_endpoint",
                        f"{endpoint.method} {endpoint.path} is planned twice (also as {seen[key]})",
                    )
                )
                continue
            seen[key] = endpoint.path
            endpoints.append(endpoint)
        return tuple(endpoints)

    def _endpoint(self, row: object) -> Endpoint | None:
        if not isinstance(row, Mapping):
            self.findings.append(_plan_finding("bad_endpoint", "an endpoint is not a JSON object"))
            return None
        method, path, summary = row.get("method"), row.get("path"), row.get("summary", "")
        if not isinstance(method, str) or method.strip().upper() not in METHODS:
            self.findings.append(
                _plan_finding("bad_endpoint", f"{_shown(method)} is not one of {', '.join(METHODS)}")
            )
            return None
        if (
            not isinstance(path, str)
            or len(path) > MAX_ENDPOINT_PATH_CHARS
            or not _ENDPOINT_PATH.fullmatch(path)
        ):
            self.findings.append(
                _plan_finding(
                    "bad_endpoint",
                    f"{_shown(path)} is not an endpoint path: it starts with / and has literal "
                    "segments and {name} parameters",
                )
            )
            return None
        if not isinstance(summary, str):
            summary = ""
        return Endpoint(method.strip().upper(), path, summary.strip()[:MAX_SUMMARY_CHARS])


def _plan_finding(code: str, message: str) -> FileFinding:
    return FileFinding("", code, message)


def _shown(value: object) -> str:
    """A model's value quoted for a message: bounded, and control characters escaped."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"
