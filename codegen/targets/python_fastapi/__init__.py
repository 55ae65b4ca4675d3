"""The Python + FastAPI target: the required one, and the offline baseline.

Its deterministic Jinja2 templates write a working service from the requirements and the
workflow (endpoints, schemas, a vendor-integration stub per activity answering 501, tests
that pass in the sandbox); the same output is the model's few-shot examples.
"""

from __future__ import annotations

from codegen.targets import Target, register
from codegen.targets.python_fastapi.docs import render_docs
from codegen.targets.python_fastapi.render import render
from codegen.targets.python_fastapi.skeleton import skeleton
from codegen.targets.python_sandbox import MODULES

PYTHON_FASTAPI = register(
    Target(
        key="python-fastapi",
        label="Python · FastAPI",
        language="python",
        allowed_extensions=frozenset(
            {".py", ".md", ".txt", ".toml", ".yaml", ".yml", ".json", ".sql", ".go", ".cfg", ".ini"}
        ),
        allowed_names=frozenset(
            {"Dockerfile", "Makefile", "Procfile", ".dockerignore", ".gitignore", ".env.example", "LICENSE"}
        ),
        skeleton=skeleton,
        render=render,
        render_docs=render_docs,
        test_command=("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml={junit}"),
        sandbox_modules=MODULES,
    )
)
