"""README.md and API.md, written last from the final files.

API.md lists the endpoints read from the final `app/main.py` with `ast` (route decorators such
as `@app.get("/path")` or `@router.post(...)`), never from the plan: after the model or a fix
changed the code, the docs still say what the code does. The request and response models are
named as the code names them, with their fields when `app/schemas.py` defines them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from codegen import python_ast
from codegen.plans import Plan
from codegen.spec import ServiceSpec
from codegen.targets.python_fastapi.render import TEMPLATES
from codegen.targets.python_fastapi.shape import encodable_spec, service_shape
from codegen.targets.rendering import environment

MAIN_PATH = "app/main.py"
SCHEMAS_PATH = "app/schemas.py"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_PATH_PARAMETER = re.compile(r"{([^}/]+)}")
_STATUS_CODE = re.compile(r"(?<!\d)([1-5]\d\d)(?!\d)")


@dataclass(frozen=True)
class DocumentedEndpoint:
    method: str
    path: str
    function: str
    summary: str
    description: str
    request_model: str | None
    response_model: str | None
    status_code: str
    parameters: tuple[str, ...]  # path and query parameters, "name: type"
    error_codes: tuple[str, ...] = field(default=())


def _module_assignments(tree: ast.Module) -> dict[str, ast.expr]:
    values: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                values[target.id] = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.value
        ):
            values[statement.target.id] = statement.value
    return values


def _dict_keys(node: ast.expr | None, assignments: Mapping[str, ast.expr], depth: int = 0) -> list[str]:
    """The keys of a `responses=` dict, following names and `**` merges defined in the module."""
    if node is None or depth > 5:
        return []
    if isinstance(node, ast.Name) and node.id in assignments:
        return _dict_keys(assignments[node.id], assignments, depth + 1)
    if not isinstance(node, ast.Dict):
        return []
    keys: list[str] = []
    for key, value in zip(node.keys, node.values, strict=True):
        if key is None:
            keys += _dict_keys(value, assignments, depth + 1)
        else:
            match = _STATUS_CODE.search(ast.unparse(key))
            keys.append(match.group(1) if match else ast.unparse(key))
    return keys


def _is_dependency(
    annotation: ast.expr | None, default: ast.expr | None, dependency_aliases: set[str]
) -> bool:
    if isinstance(default, ast.Call) and ast.unparse(default.func).endswith("Depends"):
        return True
    if annotation is None:
        return False
    source = ast.unparse(annotation)
    return "Depends(" in source or (isinstance(annotation, ast.Name) and annotation.id in dependency_aliases)


def _route(decorator: ast.expr) -> tuple[str, ast.Call] | None:
    if (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr in HTTP_METHODS
    ):
        return decorator.func.attr.upper(), decorator
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _endpoint(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    method: str,
    call: ast.Call,
    models: set[str],
    assignments: Mapping[str, ast.expr],
) -> DocumentedEndpoint | None:
    path_node = call.args[0] if call.args else _keyword(call, "path")
    if not isinstance(path_node, ast.Constant) or not isinstance(path_node.value, str):
        return None
    path = path_node.value
    path_names = set(_PATH_PARAMETER.findall(path))
    dependency_aliases = {
        name
        for name, value in assignments.items()
        if "Depends(" in ast.unparse(value) and ast.unparse(value).startswith("Annotated")
    }
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults += arguments.defaults
    pairs = list(zip(positional, defaults, strict=True))
    pairs += list(zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True))
    request_model: str | None = None
    parameters: list[str] = []
    for argument, default in pairs:
        if _is_dependency(argument.annotation, default, dependency_aliases):
            continue
        annotation = ast.unparse(argument.annotation) if argument.annotation else "Any"
        if argument.arg not in path_names and models & set(re.findall(r"\w+", annotation)):
            request_model = annotation
        else:
            where = "path" if argument.arg in path_names else "query"
            parameters.append(f"{argument.arg}: {annotation} ({where})")
    response = _keyword(call, "response_model") or function.returns
    status_node = _keyword(call, "status_code")
    status_match = _STATUS_CODE.search(ast.unparse(status_node)) if status_node else None
    docstring = ast.get_docstring(function) or ""
    summary, _, description = docstring.partition("\n")
    return DocumentedEndpoint(
        method=method,
        path=path,
        function=function.name,
        summary=summary.strip(),
        description=" ".join(description.split()),
        request_model=request_model,
        response_model=ast.unparse(response) if response is not None else None,
        status_code=status_match.group(1) if status_match else ("200" if status_node is None else "?"),
        parameters=tuple(parameters),
        error_codes=tuple(dict.fromkeys(_dict_keys(_keyword(call, "responses"), assignments))),
    )


def model_fields(source: str) -> dict[str, list[str]]:
    """The classes of a schemas module and their annotated fields, "name: type"."""
    try:
        tree = python_ast.parse(source)
    except SyntaxError:
        return {}
    models: dict[str, list[str]] = {}
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef):
            models[statement.name] = [
                f"{item.target.id}: {ast.unparse(item.annotation)}"
                for item in statement.body
                if isinstance(item, ast.AnnAssign)
                and isinstance(item.target, ast.Name)
                and item.target.id != "model_config"
            ]
    return models


def api_endpoints(source: str, models: set[str] | None = None) -> list[DocumentedEndpoint]:
    """The endpoints a FastAPI module declares, in source order; none when it does not parse."""
    try:
        tree = python_ast.parse(source)
    except SyntaxError:
        return []
    assignments = _module_assignments(tree)
    model_names = set(models or ())
    found: list[tuple[int, DocumentedEndpoint]] = []
    for statement in ast.walk(tree):
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in statement.decorator_list:
                route = _route(decorator)
                endpoint = route and _endpoint(statement, route[0], route[1], model_names, assignments)
                if endpoint:
                    found.append((decorator.lineno, endpoint))
    return [endpoint for _line, endpoint in sorted(found, key=lambda pair: pair[0])]


def _model_name(annotation: str | None) -> str:
    return (annotation or "").rsplit(".", 1)[-1].removeprefix("list[").rstrip("]")


def render_docs(spec: ServiceSpec, plan: Plan, files: Mapping[str, str]) -> dict[str, str]:
    """README.md and API.md (those of `plan.docs`) from the final files."""
    spec = encodable_spec(spec)
    wanted = {planned.path for planned in plan.docs}
    models = model_fields(files.get(SCHEMAS_PATH, ""))
    endpoints = api_endpoints(files.get(MAIN_PATH, ""), set(models))
    purposes = {planned.path: planned.purpose for planned in (*plan.files, *plan.docs)}
    context = {
        "spec": spec,
        "shape": service_shape(spec),
        "files": files,
        "paths": [*files, *(planned.path for planned in plan.docs if planned.path not in files)],
        "purposes": purposes,
        "endpoints": endpoints,
        "models": models,
        "model_name": _model_name,
        "main_parsed": bool(endpoints) or MAIN_PATH not in files,
    }
    env = environment(TEMPLATES)
    docs: dict[str, str] = {}
    for path in ("README.md", "API.md"):
        if path in wanted:
            docs[path] = env.get_template(f"{path}.j2").render(**context)
    return docs
