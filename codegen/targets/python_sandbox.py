"""The packages a generated Python service may use: what the sandbox's interpreter offers.

Pinned, installed once into the sandbox's own interpreter (codegen.sandbox.python_env),
offline afterwards. An import of anything else (beyond the standard library and the
project's own modules) is a finding: the model invented it, or needs what we do not offer.
"""

from __future__ import annotations

# Requirement lines, as a generated requirements.txt should pin them.
PACKAGES: dict[str, str] = {
    "fastapi": "fastapi==0.165.0",
    "pydantic": "pydantic==2.14.4",
    "pydantic-settings": "pydantic-settings==2.16.3",
    "httpx": "httpx==0.29.0",
    "pytest": "pytest==9.2.0",
    "uvicorn": "uvicorn==0.55.0",
    "PyYAML": "PyYAML==6.0.4",
    "SQLAlchemy": "SQLAlchemy==2.1.9",
}

# Top-level module -> the distribution (a key of PACKAGES) that provides it. Modules that
# come with a package's dependencies (starlette with fastapi) count as that package's.
MODULES: dict[str, str] = {
    "fastapi": "fastapi",
    "starlette": "fastapi",
    "pydantic": "pydantic",
    "pydantic_settings": "pydantic-settings",
    "httpx": "httpx",
    "pytest": "pytest",
    "_pytest": "pytest",
    "uvicorn": "uvicorn",
    "yaml": "PyYAML",
    "sqlalchemy": "SQLAlchemy",
}
