"""interface_of: what a file offers its dependents, without its bodies, within a budget."""

from __future__ import annotations

import ast

import pytest

from codegen.checks.interfaces import interface_of

MODULE = '''"""The orders API: create, read and cancel orders.

More prose that no dependent needs.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from app.store import OrderStore

SECRET_SAUCE = "a constant whose value is much longer than anyone would want to read in a prompt at all"
MAX_ITEMS = 50
app = FastAPI(title="Orders")
router = APIRouter(prefix="/orders")


class Status(enum.StrEnum):
    """Where an order stands."""

    OPEN = "open"
    CANCELLED = "cancelled"


class OrderCreate(BaseModel):
    """What a client sends to create an order."""

    model_config = ConfigDict(extra="forbid")
    customer: str = Field(min_length=1, max_length=200, description="Who the order is for, in full.")
    items: list[str] = []
    note: str | None = None

    def total_items(self) -> int:
        """How many items, counting duplicates."""
        hidden_body_marker = len(self.items)
        return hidden_body_marker


def get_store() -> OrderStore:
    """The store the endpoints use."""
    return OrderStore(path="orders.db", timeout=30, retries=5, options={"journal": "wal", "sync": "full"})


@router.get("/{order_id}", responses={404: {"description": "no such order, whatever the id"}})
async def read_order(order_id: int, store: Annotated[OrderStore, Depends(get_store)]) -> OrderCreate:
    """One order.

    Raises 404.
    """
    order = store.get(order_id)
    if order is None:
        raise HTTPException(404, "hidden body text")
    return order


def _private_helper(value: int) -> int:
    return value * 2


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app)
'''


@pytest.fixture
def interface() -> str:
    return interface_of("app/orders.py", MODULE)


def test_it_keeps_the_docstrings_first_line_and_the_imports(interface: str) -> None:
    assert "The orders API: create, read and cancel orders." in interface
    assert "More prose" not in interface
    assert "from fastapi import APIRouter, Depends, FastAPI, HTTPException" in interface
    assert "from app.store import OrderStore" in interface


def test_it_keeps_signatures_and_drops_bodies(interface: str) -> None:
    assert "def get_store() -> OrderStore:" in interface
    signature = "async def read_order(order_id: int, store: Annotated[OrderStore, Depends(get_store)])"
    assert f"{signature} -> OrderCreate:" in interface
    assert "def total_items(self) -> int:" in interface
    assert "How many items, counting duplicates." in interface
    assert "Raises 404" not in interface  # only a docstring's first line
    for body in ("hidden_body_marker", "hidden body text", "journal", "store.get"):
        assert body not in interface


def test_it_keeps_route_decorators_and_models(interface: str) -> None:
    assert "@router.get('/{order_id}'" in interface
    assert "class Status(enum.StrEnum):" in interface
    assert "OPEN = 'open'" in interface
    assert "class OrderCreate(BaseModel):" in interface
    assert "model_config = ConfigDict(extra='forbid')" in interface
    assert "items: list[str] = []" in interface
    assert "note: str | None = None" in interface
    assert "customer: str = Field(min_length=1, max_length=200" in interface  # defaults stay visible


def test_it_shortens_long_constants_and_keeps_short_ones(interface: str) -> None:
    assert "SECRET_SAUCE = ..." in interface
    assert "much longer" not in interface
    assert "MAX_ITEMS = 50" in interface
    assert "router = APIRouter(prefix='/orders')" in interface


def test_the_script_part_is_left_out(interface: str) -> None:
    assert "uvicorn" not in interface


def test_the_interface_is_python_and_shorter(interface: str) -> None:
    ast.parse(interface)
    assert len(interface) < len(MODULE)


def test_it_is_capped_dropping_private_helpers_first() -> None:
    full = interface_of("app/orders.py", MODULE, max_chars=100_000)
    assert "_private_helper" in full

    smaller = interface_of("app/orders.py", MODULE, max_chars=len(full) - 1)
    assert "_private_helper" not in smaller
    assert len(smaller) <= len(full) - 1

    tiny = interface_of("app/orders.py", MODULE, max_chars=300)
    assert len(tiny) <= 300
    assert tiny.endswith("(interface truncated)")


@pytest.mark.parametrize("max_chars", [0, 1, 10, 30, 4000])
def test_it_never_exceeds_the_budget(max_chars: int) -> None:
    huge = "\n".join(
        f"def f{number}(a: int, b: str = 'x') -> None:\n    '''Doc.'''\n" for number in range(2000)
    )
    for path, content in [
        ("big.py", huge),
        ("big.txt", "x" * 100_000),
        ("big.sql", "CREATE TABLE t (a int);" * 5000),
    ]:
        assert len(interface_of(path, content, max_chars=max_chars)) <= max_chars


def test_unparsable_python_gives_a_note_and_its_first_lines() -> None:
    broken = "import os\n\ndef f(:\n    pass\n" + "\n".join(f"x{n} = {n}" for n in range(100))

    interface = interface_of("app/broken.py", broken)

    assert interface.startswith("# does not parse (line 3)")
    assert "import os" in interface
    assert "x99" not in interface  # only the first lines


def test_requirements_are_kept_whole() -> None:
    requirements = "# pinned\nfastapi==0.165.0\npydantic==2.14.4\n"

    assert interface_of("requirements.txt", requirements) == requirements.strip()


def test_sql_keeps_its_create_statements() -> None:
    sql = """-- schema
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    customer TEXT NOT NULL
);
INSERT INTO orders (customer) VALUES ('x');
create unique index orders_customer on orders (customer);
"""

    interface = interface_of("schema.sql", sql)

    assert "CREATE TABLE IF NOT EXISTS orders (" in interface
    assert "customer TEXT NOT NULL" in interface
    assert "create unique index orders_customer" in interface
    assert "INSERT" not in interface
    assert "PRAGMA" not in interface


def test_go_keeps_its_declarations() -> None:
    go = """package workflow

import "go.temporal.io/sdk/workflow"

type Input struct {
    OrderID string
}

func OrderWorkflow(ctx workflow.Context, input Input) error {
    secret := "body"
    return nil
}
"""

    interface = interface_of("workflow/workflow.go", go)

    assert "package workflow" in interface
    assert "func OrderWorkflow(ctx workflow.Context, input Input) error" in interface
    assert "type Input struct" in interface
    assert "secret" not in interface


def test_other_files_give_their_first_lines() -> None:
    text = "\n".join(f"line {number}" for number in range(100))

    interface = interface_of("docker-compose.yml", text)

    assert interface.startswith("line 0\nline 1")
    assert "line 29" in interface
    assert "line 30" not in interface


def test_pathological_python_does_not_break_it() -> None:
    deep = "x = " + "(" * 150 + "1" + ")" * 150
    long_sum = "x = " + " + ".join(["1"] * 50_000)

    for content in (deep, long_sum, "\x00", ""):
        assert isinstance(interface_of("app/weird.py", content), str)
