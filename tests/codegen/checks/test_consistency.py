"""check_project: imports, requirements, tests and endpoints checked across the files."""

from __future__ import annotations

import time

import pytest

from codegen.checks.consistency import check_project
from codegen.checks.files import ProjectContext, project_modules_of
from codegen.findings import FileFinding
from codegen.plans import Endpoint, Plan, PlannedFile
from codegen.targets.python_sandbox import MODULES, PACKAGES

BASE: dict[str, str] = {
    "requirements.txt": "# pinned\nfastapi==0.165.0\nhttpx==0.29.0  # fastapi.testclient\npydantic==2.14.4\n"
    "pytest==9.2.0\nuvicorn[standard]>=0.30 ; python_version >= '3.11'\n",
    "Dockerfile": 'FROM python:3.11-slim\nCMD ["uvicorn", "app.main:app"]\n',
    "app/__init__.py": "",
    "app/models.py": (
        "from pydantic import BaseModel\n\n\n"
        "class Order(BaseModel):\n    customer: str\n\n\n"
        "STATUSES, DEFAULT = ('open', 'done'), 'open'\n"
        "__all__ = ['Order', 'STATUSES', 'DEFAULT', 'dynamic_name']\n"
    ),
    "app/routers/__init__.py": "",
    "app/routers/orders.py": (
        "from fastapi import APIRouter\n\n"
        "from app.models import Order\n\n"
        'router = APIRouter(prefix="/orders")\n\n\n'
        '@router.get("/{order_id}")\ndef read_order(order_id: int) -> Order:\n'
        '    return Order(customer="x")\n\n\n'
        '@router.post("")\ndef create_order(order: Order) -> Order:\n    return order\n'
    ),
    "app/main.py": (
        "from fastapi import FastAPI\n\n"
        "from app.routers import orders\n\n"
        "app = FastAPI()\n"
        'app.include_router(orders.router, prefix="/api")\n\n\n'
        '@app.get("/health")\ndef health() -> dict[str, str]:\n    return {"status": "ok"}\n'
    ),
    "tests/conftest.py": (
        "import pytest\nfrom fastapi.testclient import TestClient\n\nfrom app.main import app\n\n\n"
        "@pytest.fixture\ndef client() -> TestClient:\n    return TestClient(app)\n"
    ),
    "tests/test_api.py": "def test_health(client):\n    assert client.get('/health').status_code == 200\n",
}
ENDPOINTS = (
    Endpoint("GET", "/health"),
    Endpoint("GET", "/api/orders/{id}"),
    Endpoint("POST", "/api/orders"),
)


def plan_of(files: dict[str, str], endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> Plan:
    return Plan(files=tuple(PlannedFile(path, "", "") for path in files), endpoints=endpoints)


def findings_of(files: dict[str, str], endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> list[FileFinding]:
    context = ProjectContext(project_modules_of(files), MODULES, max_file_bytes=100_000)
    return check_project(files, plan=plan_of(files, endpoints), context=context)


def changed(files: dict[str, str | None]) -> dict[str, str]:
    """BASE with some files replaced, added, or removed (None)."""
    project = dict(BASE)
    for path, content in files.items():
        if content is None:
            project.pop(path)
        else:
            project[path] = content
    return project


def summary(findings: list[FileFinding]) -> list[tuple[str, str, int | None, str]]:
    return [(finding.path, finding.code, finding.line, finding.severity) for finding in findings]


def test_a_consistent_project_has_no_findings() -> None:
    assert findings_of(BASE) == []


# Imports -----------------------------------------------------------------------------------


def test_a_missing_module_is_reported_on_the_importing_file() -> None:
    files = changed({"app/main.py": BASE["app/main.py"] + "\nfrom app.services import run\n"})

    found = findings_of(files)

    assert summary(found) == [("app/main.py", "missing_module", 13, "error")]
    assert "app/services.py" in found[0].message
    assert "app/services/__init__.py" in found[0].message


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("import app.ghost", "missing_module"),
        ("import app.routers.ghost", "missing_module"),
        ("from app.ghost.deeper import x", "missing_module"),
        ("from .ghost import x", "missing_module"),
        ("from app.models import Invoice", "missing_name"),
        ("from app.routers import ghost", "missing_name"),
        ("from .models import Invoice", "missing_name"),
        ("from . import ghost", "missing_name"),
    ],
)
def test_imports_of_what_does_not_exist(statement: str, code: str) -> None:
    files = changed({"app/service.py": f"{statement}\n"})

    assert summary(findings_of(files)) == [("app/service.py", code, 1, "error")]


@pytest.mark.parametrize(
    "statement",
    [
        "import app.models",
        "import app.routers.orders",
        "from app import models",
        "from app.routers import orders",
        "from app.models import Order, STATUSES, DEFAULT, BaseModel",  # BaseModel: imported there
        "from app.models import dynamic_name",  # listed in __all__
        "from app.models import *",
        "from .models import Order",
        "from .routers.orders import router",
        "from . import main",
        "import json",
        "import fastapi_magic",  # unknown third party: the file checks report it
    ],
)
def test_imports_of_what_exists(statement: str) -> None:
    assert findings_of(changed({"app/service.py": f"{statement}\n"})) == []


def test_a_missing_name_lists_what_the_module_offers() -> None:
    found = findings_of(changed({"app/service.py": "from app.models import Invoice\n"}))

    assert "app/models.py does not define Invoice" in found[0].message
    assert "Order" in found[0].message


def test_a_module_with_a_star_import_or_getattr_may_define_anything() -> None:
    files = changed(
        {
            "app/star.py": "from app.models import *\n",
            "app/lazy.py": "def __getattr__(name):\n    return name\n",
            "app/service.py": "from app.star import anything\nfrom app.lazy import whatever\n",
        }
    )

    assert findings_of(files) == []


def test_names_defined_in_blocks_count() -> None:
    files = changed(
        {
            "app/compat.py": "try:\n    import ujson as json\nexcept ImportError:\n    import json\n"
            "if json:\n    LOADS = json.loads\nelse:\n    def LOADS(text):\n        return text\n"
            "for WHATEVER in range(1):\n    pass\nwith open('x') as HANDLE:\n    pass\n",
            "app/service.py": "from app.compat import json, LOADS, WHATEVER, HANDLE\n",
        }
    )

    assert findings_of(files) == []


def test_names_defined_only_inside_functions_do_not_count() -> None:
    files = changed(
        {
            "app/hidden.py": "def f():\n    INNER = 1\n    return INNER\n",
            "app/service.py": "from app.hidden import INNER\n",
        }
    )

    assert [finding.code for finding in findings_of(files)] == ["missing_name"]


def test_a_namespace_package_offers_only_its_modules() -> None:
    files = changed({"app/routers/__init__.py": None})  # app/routers/ without __init__.py
    files["app/service.py"] = "from app.routers import orders\nfrom app.routers import router\n"

    assert summary(findings_of(files)) == [("app/service.py", "missing_name", 2, "error")]


def test_a_module_beside_a_package_of_the_same_name_is_reported() -> None:
    files = changed(
        {
            "app/models/__init__.py": "from app.models.order import Order\n",
            "app/models/order.py": BASE["app/models.py"],
        }
    )

    found = findings_of(files)

    assert summary(found) == [("app/models.py", "module_conflict", None, "error")]
    assert "Python imports app/models/__init__.py" in found[0].message


def test_unparsable_files_are_left_to_the_file_checks() -> None:
    files = changed(
        {
            "app/models.py": "class Order(:\n",
            "app/broken.py": "import app.ghost\ndef (\n",
            "app/service.py": "from app.models import Anything\n",
        }
    )

    assert [finding.code for finding in findings_of(files) if finding.severity == "error"] == []


def test_a_project_module_planned_but_not_written_is_missing() -> None:
    files = changed({"app/service.py": "from app.later import run\n"})
    context = ProjectContext(project_modules_of([*files, "app/later.py"]), MODULES, max_file_bytes=100_000)

    found = check_project(files, plan=plan_of(files), context=context)

    assert summary(found) == [("app/service.py", "missing_module", 1, "error")]


# Requirements ------------------------------------------------------------------------------


def test_an_imported_distribution_missing_from_requirements_is_an_error() -> None:
    files = changed({"app/settings.py": "import yaml\nfrom pydantic_settings import BaseSettings\n"})

    found = findings_of(files)

    assert summary(found) == [
        ("requirements.txt", "missing_requirement", None, "error"),
        ("requirements.txt", "missing_requirement", None, "error"),
    ]
    assert "pydantic-settings" in found[0].message
    assert "app/settings.py" in found[0].message
    assert PACKAGES["PyYAML"] not in found[0].message
    assert "PyYAML" in found[1].message


def test_a_listed_distribution_nothing_uses_is_a_warning() -> None:
    files = changed({"requirements.txt": BASE["requirements.txt"] + "SQLAlchemy==2.1.9\n"})

    found = findings_of(files)

    assert summary(found) == [("requirements.txt", "unused_requirement", 7, "warning")]
    assert "SQLAlchemy" in found[0].message


def test_requirement_names_are_compared_in_normal_form() -> None:
    files = changed(
        {
            "app/settings.py": "import yaml\nimport pydantic_settings\n",
            "requirements.txt": BASE["requirements.txt"] + "pyyaml==6.0.4\nPydantic_Settings\n",
        }
    )

    assert findings_of(files) == []


def test_starlette_counts_as_fastapi() -> None:
    files = changed({"app/extra.py": "from starlette.responses import JSONResponse\n"})

    assert findings_of(files) == []
    files["requirements.txt"] = files["requirements.txt"].replace("fastapi==0.165.0\n", "")
    assert [finding.code for finding in findings_of(files)] == ["missing_requirement"]


def test_the_test_client_needs_httpx() -> None:
    files = changed(
        {"requirements.txt": BASE["requirements.txt"].replace("httpx==0.29.0  # fastapi.testclient\n", "")}
    )

    found = findings_of(files)

    assert summary(found) == [("requirements.txt", "missing_requirement", None, "error")]
    assert "httpx" in found[0].message
    assert "tests/conftest.py" in found[0].message


def test_a_distribution_named_only_by_a_deployment_file_is_used() -> None:
    files = changed({"Dockerfile": 'FROM python:3.11-slim\nCMD ["python", "-m", "app"]\n'})

    found = findings_of(files)

    assert summary(found) == [("requirements.txt", "unused_requirement", 6, "warning")]
    assert "uvicorn" in found[0].message


def test_an_optional_import_needs_no_requirement_but_uses_one() -> None:
    files = changed({"app/extra.py": "try:\n    import yaml\nexcept ImportError:\n    yaml = None\n"})
    assert findings_of(files) == []

    files["requirements.txt"] += "PyYAML==6.0.4\n"
    assert findings_of(files) == []


def test_requirements_the_sandbox_does_not_offer_and_odd_lines_are_warnings() -> None:
    files = changed(
        {"requirements.txt": BASE["requirements.txt"] + "requests==2.32\n-r base.txt\n!!!\nfastapi\n"}
    )

    assert summary(findings_of(files)) == [
        ("requirements.txt", "bad_requirement", 9, "warning"),
        ("requirements.txt", "unavailable_requirement", 7, "warning"),
        ("requirements.txt", "duplicate_requirement", 10, "warning"),
    ]


def test_no_requirements_file_is_reported_when_something_is_imported() -> None:
    found = findings_of(changed({"requirements.txt": None}))

    assert summary(found) == [("requirements.txt", "missing_requirement", None, "error")]
    assert "fastapi" in found[0].message
    assert "pytest" in found[0].message


def test_a_project_without_third_party_imports_needs_no_requirements_file() -> None:
    files = {"main.py": "import json\n\nprint(json.dumps({}))\n"}

    assert findings_of(files, endpoints=()) == []


# Tests -------------------------------------------------------------------------------------


def test_a_test_importing_a_module_that_does_not_exist_is_reported() -> None:
    files = changed(
        {"tests/test_orders.py": "from app.orders_service import create\n\n\ndef test_it():\n    create()\n"}
    )

    assert summary(findings_of(files)) == [("tests/test_orders.py", "missing_module", 1, "error")]


def test_a_test_that_imports_nothing_of_the_project_is_a_warning() -> None:
    files = changed(
        {"tests/conftest.py": "import pytest\n", "tests/test_api.py": "def test_it():\n    assert True\n"}
    )

    found = findings_of(files)

    assert ("tests/test_api.py", "tests_import_nothing", None, "warning") in summary(found)
    assert [finding.path for finding in found if finding.code == "tests_import_nothing"] == [
        "tests/test_api.py"
    ]


def test_a_test_may_rely_on_its_conftest() -> None:
    assert [finding for finding in findings_of(BASE) if finding.code == "tests_import_nothing"] == []


# Endpoints ---------------------------------------------------------------------------------


def test_a_planned_endpoint_without_a_route_is_reported_on_the_api_file() -> None:
    endpoints = (*ENDPOINTS, Endpoint("DELETE", "/api/orders/{order_id}"), Endpoint("GET", "/orders/{id}"))

    found = findings_of(BASE, endpoints)

    assert summary(found) == [
        ("app/main.py", "missing_endpoint", None, "error"),
        ("app/main.py", "missing_endpoint", None, "error"),
    ]
    assert "DELETE /api/orders/{order_id}" in found[0].message
    assert "GET /orders/{id}" in found[1].message  # the router's prefix alone is not enough
    assert "GET /api/orders/{order_id}" in found[0].message  # the routes found, to compare


def test_the_router_prefix_counts_without_an_include_prefix() -> None:
    files = changed({"app/main.py": BASE["app/main.py"].replace(', prefix="/api"', "")})

    found = findings_of(files, (Endpoint("GET", "/orders/{x}"), Endpoint("POST", "/orders")))

    assert found == []
    assert [f.code for f in findings_of(files)] == ["missing_endpoint", "missing_endpoint"]


@pytest.mark.parametrize(
    ("main", "orders"),
    [
        # imported by name, with an alias
        (
            "from fastapi import FastAPI\nfrom app.routers.orders import router as orders_router\n"
            'app = FastAPI()\napp.include_router(orders_router, prefix="/api")\n'
            '@app.get("/health")\ndef h(): ...\n',
            None,
        ),
        # a relative import, and an application factory
        (
            "from fastapi import FastAPI\nfrom .routers import orders\n"
            "def create_app():\n    app = FastAPI()\n"
            '    app.include_router(orders.router, prefix="/api")\n'
            '    @app.get("/health")\n    def h(): ...\n    return app\n',
            None,
        ),
        # api_route and add_api_route; the router's prefix in include_router only
        (
            "from fastapi import FastAPI\nfrom app.routers.orders import router\n"
            'app = FastAPI()\napp.include_router(router, prefix="/api/orders")\n'
            'app.add_api_route("/health", lambda: None, methods=["GET"])\n',
            "from fastapi import APIRouter\nrouter = APIRouter()\n"
            '@router.api_route("/{order_id}", methods=["GET", "PUT"])\ndef one(order_id: int): ...\n'
            '@router.api_route("/", methods=["POST"])\ndef create(): ...\n',
        ),
        # nested routers
        (
            "from fastapi import FastAPI, APIRouter\nfrom app.routers.orders import router\n"
            'app = FastAPI()\napi = APIRouter(prefix="/api")\napi.include_router(router)\n'
            'app.include_router(api)\n@app.get("/health/")\ndef h(): ...\n',
            None,
        ),
        # a prefix we cannot read: routes are matched by how they end
        (
            "from fastapi import FastAPI\nfrom app.routers import orders\nPREFIX = '/api'\n"
            "app = FastAPI()\napp.include_router(orders.router, prefix=PREFIX)\n"
            '@app.get("/health")\ndef h(): ...\n',
            None,
        ),
    ],
)
def test_routes_are_found_through_routers_and_imports(main: str, orders: str | None) -> None:
    files = changed({"app/main.py": main, **({"app/routers/orders.py": orders} if orders else {})})

    assert [finding for finding in findings_of(files) if finding.code == "missing_endpoint"] == []


def test_routes_in_tests_do_not_count() -> None:
    files = changed(
        {
            "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
            "tests/test_fake.py": "from fastapi import FastAPI\nfrom app.main import app\nfake = FastAPI()\n"
            '@fake.get("/health")\ndef h(): ...\n',
        }
    )

    found = [
        finding
        for finding in findings_of(files, (Endpoint("GET", "/health"),))
        if finding.code == "missing_endpoint"
    ]

    assert summary(found) == [("app/main.py", "missing_endpoint", None, "error")]


def test_without_any_application_the_finding_goes_to_the_planned_main_file() -> None:
    files = {"app/__init__.py": "", "app/main.py": "print('no api')\n"}

    found = findings_of(files, (Endpoint("GET", "/health"),))

    assert summary(found) == [("app/main.py", "missing_endpoint", None, "error")]
    assert "routes found: none" in found[0].message


def test_a_method_mismatch_is_missing() -> None:
    found = findings_of(BASE, (Endpoint("PUT", "/health"),))

    assert [finding.code for finding in found] == ["missing_endpoint"]


def test_a_tangle_of_includes_is_read_quickly() -> None:
    lines = ["from fastapi import FastAPI, APIRouter", "app = FastAPI()"]
    lines += [f'r{n} = APIRouter(prefix="/r{n}")' for n in range(10)]
    lines += [f"r{n}.include_router(r{m})" for n in range(10) for m in range(10)] * 5
    lines += ["app.include_router(r0)"] * 50
    lines += [f'@r{n}.get("/x")\ndef f{n}(): ...' for n in range(10)]
    files = {"app/__init__.py": "", "app/main.py": "\n".join(lines) + "\n"}
    started = time.monotonic()

    found = findings_of(files, (Endpoint("GET", "/r0/r1/x"), Endpoint("GET", "/nowhere")))

    assert time.monotonic() - started < 5
    missing = [finding.message for finding in found if finding.code == "missing_endpoint"]
    assert [message.split(" has no route")[0] for message in missing] == ["the plan's GET /nowhere"]


def test_hostile_contents_never_raise() -> None:
    files = {
        "app/__init__.py": "\x00",
        "app/a.py": "from " + "." * 500 + " import x\n",
        "app/b.py": "x = " + "(" * 150 + ")" * 150 + "\n",
        "app/c.py": "import " + ".".join(["a"] * 1000) + "\n",
        "requirements.txt": "\x00\n" + "a" * 10_000 + "\n",
        "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\napp.include_router(app)\n"
        "app.include_router(app.router, prefix=1)\n@app.get(1)\ndef h(): ...\n",
    }

    found = findings_of(files)

    assert all(isinstance(finding, FileFinding) for finding in found)
