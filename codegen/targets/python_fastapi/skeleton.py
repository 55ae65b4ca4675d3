"""The default plan of a Python + FastAPI service: seed 002's file order, adapted to FastAPI.

requirements, config, models, schemas, vendor integration, service manager, API, SQL schema,
tests, README, Dockerfile, compose, Kubernetes, CI; every file depends only on files before
it, so the list is also an order to write them in. The model adapts this plan; the template
mode renders it as it is.
"""

from __future__ import annotations

from codegen.plans import Endpoint, Plan, PlannedFile
from codegen.spec import Options, ServiceSpec
from codegen.targets.python_fastapi.shape import encodable_spec, service_shape
from codegen.targets.rendering import one_line

WORKFLOW_PATH = "workflow/workflow.go"


def _project_files(spec: ServiceSpec, options: Options) -> list[PlannedFile]:
    files = [
        PlannedFile("requirements.txt", "The pinned third-party distributions the code imports.", "text"),
        PlannedFile("pyproject.toml", "Project metadata and the pytest and ruff settings.", "toml"),
        PlannedFile("app/__init__.py", "The service's package.", "python"),
        PlannedFile(
            "app/config.py",
            "Settings from the environment (pydantic-settings) and the requirements the service was "
            "specified with, as data.",
            "python",
        ),
        PlannedFile(
            "app/models.py",
            "The domain records: a service request, its status and its activity steps.",
            "python",
        ),
        PlannedFile(
            "app/schemas.py",
            "Pydantic request and response schemas; the request schema is derived from the "
            "requirements (offered choices) and the workflow's inputs.",
            "python",
            ("app/config.py", "app/models.py"),
        ),
    ]
    vendor_depends = ["app/config.py"]
    if spec.go_code:
        files.append(
            PlannedFile(
                WORKFLOW_PATH,
                "The compiled Temporal Go workflow, which calls the activities the service implements.",
                "go",
            )
        )
        vendor_depends.append(WORKFLOW_PATH)
    files += [
        PlannedFile("app/integrations/__init__.py", "The vendor integrations' package.", "python"),
        PlannedFile(
            "app/integrations/vendor.py",
            "One function per workflow activity, raising IntegrationNotImplementedError (answered "
            "501) until it is connected to the vendor's API.",
            "python",
            tuple(vendor_depends),
        ),
        PlannedFile(
            "app/service_manager.py",
            "The business logic: stores service requests in SQLite (schema.sql) and runs the "
            "activities in the workflow's order.",
            "python",
            ("app/config.py", "app/models.py", "app/integrations/vendor.py"),
        ),
        PlannedFile(
            "app/main.py",
            "The FastAPI application: the endpoints, the 404 and 501 error responses.",
            "python",
            ("app/config.py", "app/schemas.py", "app/service_manager.py", "app/integrations/vendor.py"),
        ),
        PlannedFile(
            "schema.sql",
            "The SQL schema the service manager creates: requests and their activity steps.",
            "sql",
            ("app/models.py", "app/service_manager.py"),
        ),
    ]
    if options.include_tests:
        files += [
            PlannedFile(
                "tests/conftest.py",
                "pytest fixtures: a test client on a fresh in-memory store for each test.",
                "python",
                ("app/main.py", "app/service_manager.py"),
            ),
            PlannedFile(
                "tests/test_api.py",
                "The API's tests, through the `client` fixture of tests/conftest.py (a TestClient on a "
                "fresh store): health, creating and fetching requests, validation errors, 404s, "
                "running a request and each activity's 501.",
                "python",
                ("app/main.py", "app/schemas.py", "app/integrations/vendor.py"),
            ),
        ]
    if options.include_deployment:
        files += [
            PlannedFile("Dockerfile", "The service's container image.", "dockerfile", ("requirements.txt",)),
            PlannedFile(".dockerignore", "What the image's build context leaves out.", "text"),
            PlannedFile(
                "docker-compose.yml",
                "Runs the service locally in its container, with a volume for its database.",
                "yaml",
                ("Dockerfile",),
            ),
            PlannedFile(
                "k8s/deployment.yaml",
                "The Kubernetes Deployment, with liveness and readiness probes on /health.",
                "yaml",
                ("Dockerfile",),
            ),
            PlannedFile("k8s/service.yaml", "The Kubernetes Service in front of the Deployment.", "yaml"),
            PlannedFile(
                ".github/workflows/ci.yml",
                "Continuous integration: installs the requirements and runs the tests.",
                "yaml",
                ("requirements.txt",),
            ),
        ]
    return files


def _endpoints(spec: ServiceSpec) -> tuple[Endpoint, ...]:
    shape = service_shape(spec)
    title = one_line(spec.title, 80)
    endpoints = [
        Endpoint("GET", "/health", "Liveness: the service answers."),
        Endpoint("GET", "/service", f"What {title} offers: its requirements and activities."),
        Endpoint("POST", "/requests", f"Submit a request for {title}, validated against its schema."),
        Endpoint("GET", "/requests", "List the requests, newest first."),
        Endpoint("GET", "/requests/{request_id}", "One request, with its activity steps."),
        Endpoint(
            "POST",
            "/requests/{request_id}/run",
            "Run the request's activities in the workflow's order; 501 at the first one not connected.",
        ),
    ]
    for activity in shape.activities:
        endpoints.append(
            Endpoint(
                "POST",
                activity.path,
                f"Call the {one_line(activity.spec.name, 80)} activity; 501 until its integration "
                f"is connected in app/integrations/vendor.py.",
            )
        )
    return tuple(endpoints)


def skeleton(spec: ServiceSpec, options: Options) -> Plan:
    """The default plan for `spec`: seed 002's files in order, honoring the options."""
    spec = encodable_spec(spec)
    files = _project_files(spec, options)
    docs: tuple[PlannedFile, ...] = ()
    if options.include_docs:
        written = tuple(planned.path for planned in files)
        docs = (
            PlannedFile(
                "README.md",
                "What the service does (from the requirements), how to run, test and deploy it, and "
                "the activities left to connect.",
                "markdown",
                written,
            ),
            PlannedFile(
                "API.md",
                "Every endpoint of the final app/main.py, with its request and response models.",
                "markdown",
                ("app/main.py", "app/schemas.py"),
            ),
        )
    notes = "Template skeleton: seed 002's file order for Python + FastAPI."
    if spec.workflow is not None and not spec.go_code:
        notes += " The workflow did not compile, so workflow/workflow.go is left out."
    return Plan(files=tuple(files), endpoints=_endpoints(spec), notes=notes, docs=docs)
