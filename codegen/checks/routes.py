"""The HTTP routes a FastAPI project serves, read from its source with `ast`.

Routes are the decorators `@<name>.get("/path")` (post, put, patch, delete, head, options,
`api_route(..., methods=[...])`) and `<name>.add_api_route(...)` calls. A route's full path
adds the prefix of its router (`APIRouter(prefix="/x")`) and of every
`include_router(router, prefix=...)` that leads to it from an application
(`FastAPI(...)`), following imports between the project's modules. What cannot be resolved
statically (a computed prefix, a router included from nowhere we can see) is read
leniently: the check must not report an endpoint missing that the service does serve.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from codegen.checks.modules import package_of

ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})
MAX_INCLUDE_DEPTH = 8
MAX_PREFIXES = 500  # full prefixes recorded over all routers: hostile include graphs stay cheap
MAX_PREFIXES_PER_ROUTER = 20

_PARAMETER = re.compile(r"\{[^{}]*\}")

RouterId = tuple[str, str]  # (module, variable)


@dataclass(frozen=True)
class Route:
    method: str  # upper case
    path: str  # the full path template as served ("" prefix when unknown)
    file: str
    prefix_known: bool = True  # False: some prefix before `path` could not be read


@dataclass
class _Module:
    name: str
    path: str
    tree: ast.Module
    aliases: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # local -> (module, attr)
    apps: set[str] = field(default_factory=set)
    routers: dict[str, str | None] = field(default_factory=dict)  # variable -> its own prefix
    routes: list[tuple[str, str, str]] = field(default_factory=list)  # (object, method, path)
    includes: list[tuple[str, ast.expr, str | None]] = field(default_factory=list)  # (parent, child, prefix)


def endpoint_key(path: str) -> str:
    """A path template compared ignoring parameter names and a trailing slash:
    /requests/{id}/ and /requests/{request_id} are one endpoint."""
    key = _PARAMETER.sub("{}", path)
    return key.rstrip("/") or "/"


def collect_routes(modules: Mapping[str, tuple[str, ast.Module]]) -> tuple[list[Route], list[str]]:
    """The routes of the project's modules (module -> (path, tree)), and the files that
    create an application, in module order."""
    read = {name: _read_module(name, path, tree, set(modules)) for name, (path, tree) in modules.items()}
    children: dict[RouterId, list[tuple[RouterId, str | None]]] = {}
    for module in read.values():
        for parent, child_expr, prefix in module.includes:
            parent_id = _resolve(read, module.name, parent)
            child_id = _resolve_expr(read, module.name, child_expr)
            if parent_id is not None and child_id is not None:
                children.setdefault(parent_id, []).append((child_id, prefix))
    # Each router's full prefixes: walked down from every application.
    prefixes: dict[RouterId, list[tuple[str, bool]]] = {}
    for module in read.values():
        for app in sorted(module.apps):
            _walk(read, children, (module.name, app), prefixes)
    routes: list[Route] = []
    for module in read.values():
        for obj, method, path in module.routes:
            router_id = _resolve(read, module.name, obj) or (module.name, obj)
            found = prefixes.get(router_id)
            if not found:  # not reached from an application: matched leniently, by its end
                found = [(_router_prefix(read, router_id) or "", False)]
            for prefix, known in found:
                routes.append(Route(method, prefix + path, module.path, known))
    app_files = [module.path for module in read.values() if module.apps]
    return routes, app_files


def _walk(
    read: Mapping[str, _Module],
    children: Mapping[RouterId, list[tuple[RouterId, str | None]]],
    app: RouterId,
    prefixes: dict[RouterId, list[tuple[str, bool]]],
) -> None:
    """Record the full prefix of every router reached from `app`, each include chain once
    (a router that includes itself, or a fan-out of includes, stays bounded)."""
    budget = MAX_PREFIXES
    stack: list[tuple[RouterId, str, bool, frozenset[RouterId]]] = [(app, "", True, frozenset())]
    while stack and budget > 0:
        router, prefix, known, chain = stack.pop()
        own = _router_prefix(read, router)
        full, known = prefix + (own or ""), known and own is not None
        found = prefixes.setdefault(router, [])
        if (full, known) in found or len(found) >= MAX_PREFIXES_PER_ROUTER:
            continue
        found.append((full, known))
        budget -= 1
        if len(chain) >= MAX_INCLUDE_DEPTH:
            continue
        for child, include_prefix in reversed(children.get(router, [])):
            if child not in chain and child != router:
                stack.append(
                    (
                        child,
                        full + (include_prefix or ""),
                        known and include_prefix is not None,
                        chain | {router},
                    )
                )


def _router_prefix(read: Mapping[str, _Module], router: RouterId) -> str | None:
    """A router's own prefix ("" for an application or a router without one); None when
    the prefix is not a literal or the object is unknown."""
    module = read.get(router[0])
    if module is None:
        return None
    if router[1] in module.apps:
        return ""
    return module.routers.get(router[1])


def _resolve(read: Mapping[str, _Module], module_name: str, name: str, depth: int = 0) -> RouterId | None:
    """The (module, variable) a name used in `module_name` is defined as, through imports."""
    module = read.get(module_name)
    if module is None or depth > MAX_INCLUDE_DEPTH:
        return None
    if name in module.apps or name in module.routers:
        return (module_name, name)
    alias = module.aliases.get(name)
    if alias is None or alias[1] is None:
        return None
    return _resolve(read, alias[0], alias[1], depth + 1)


def _resolve_expr(read: Mapping[str, _Module], module_name: str, expr: ast.expr) -> RouterId | None:
    if isinstance(expr, ast.Name):
        return _resolve(read, module_name, expr.id)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        module = read.get(module_name)
        alias = module.aliases.get(expr.value.id) if module else None
        if alias is not None:
            target = alias[0] if alias[1] is None else f"{alias[0]}.{alias[1]}"
            return _resolve(read, target, expr.attr)
    return None


def _read_module(name: str, path: str, tree: ast.Module, known_modules: set[str]) -> _Module:
    module = _Module(name=name, path=path, tree=tree)
    package = package_of(path)
    for statement in _top_level(tree.body):
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    module.aliases[alias.asname] = (alias.name, None)
                else:
                    top = alias.name.partition(".")[0]
                    module.aliases[top] = (top, None)
        elif isinstance(statement, ast.ImportFrom):
            source = _from_module(package, statement)
            for alias in statement.names:
                if source is None or alias.name == "*":
                    continue
                submodule = f"{source}.{alias.name}"
                local = alias.asname or alias.name
                module.aliases[local] = (
                    (submodule, None) if submodule in known_modules else (source, alias.name)
                )
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            _read_assignment(module, statement)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            _read_call(module, statement.value)
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in statement.decorator_list:
                _read_decorator(module, decorator)
    return module


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The module's statements and those in its blocks and functions: an application
    factory (`def create_app(): app = FastAPI() ...`) declares its routes inside one."""
    for statement in body:
        yield statement
        if isinstance(
            statement,
            ast.If | ast.Try | ast.TryStar | ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.While,
        ):
            yield from _top_level(statement.body)
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _top_level(statement.body)


def _from_module(package: str, statement: ast.ImportFrom) -> str | None:
    if not statement.level:
        return statement.module
    parts = package.split(".") if package else []
    if statement.level - 1 >= len(parts):
        return None
    base = parts[: len(parts) - (statement.level - 1)]
    return ".".join(base + ([statement.module] if statement.module else []))


def _read_assignment(module: _Module, statement: ast.Assign | ast.AnnAssign) -> None:
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    names = [target.id for target in targets if isinstance(target, ast.Name)]
    value = statement.value
    if not names or not isinstance(value, ast.Call):
        return
    called = _called_name(value.func)
    for name in names:
        if called == "FastAPI":
            module.apps.add(name)
        elif called == "APIRouter":
            prefix = _keyword(value, "prefix")
            module.routers[name] = "" if prefix is _MISSING else _literal(prefix)


def _read_call(module: _Module, call: ast.Call) -> None:
    if not isinstance(call.func, ast.Attribute) or not isinstance(call.func.value, ast.Name):
        return
    owner, attribute = call.func.value.id, call.func.attr
    if attribute == "include_router" and call.args:
        prefix = _keyword(call, "prefix")
        module.includes.append((owner, call.args[0], "" if prefix is _MISSING else _literal(prefix)))
    elif attribute == "add_api_route":
        path = _literal(call.args[0]) if call.args else _literal(_keyword(call, "path"))
        if path is not None:
            for method in _methods(call):
                module.routes.append((owner, method, path))


def _read_decorator(module: _Module, decorator: ast.expr) -> None:
    if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
        return
    if not isinstance(decorator.func.value, ast.Name):
        return
    owner, attribute = decorator.func.value.id, decorator.func.attr
    path = _literal(decorator.args[0]) if decorator.args else _literal(_keyword(decorator, "path"))
    if path is None:
        return
    if attribute in ROUTE_METHODS:
        module.routes.append((owner, attribute.upper(), path))
    elif attribute == "api_route":
        for method in _methods(decorator):
            module.routes.append((owner, method, path))


def _methods(call: ast.Call) -> list[str]:
    methods = _keyword(call, "methods")
    if not isinstance(methods, ast.List | ast.Tuple | ast.Set):
        return ["GET"]
    return [
        element.value.upper()
        for element in methods.elts
        if isinstance(element, ast.Constant) and isinstance(element.value, str)
    ]


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


class _Missing:
    pass


_MISSING = _Missing()


def _keyword(call: ast.Call, name: str) -> ast.expr | _Missing:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), _MISSING)


def _literal(value: ast.expr | _Missing | None) -> str | None:
    """A string constant's value; None for anything computed."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return None
