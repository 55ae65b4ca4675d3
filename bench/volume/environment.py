"""Django for the volume benchmarks: the test settings on a data directory that outlives the
run (the SQLite file, the bundled Redis and the embedded keyring live there, so `--reuse`
finds the volume again), or on DATABASE_URL / REDIS_URL when they are set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DATA_DIR = ROOT / "var" / "bench-volume"


def setup_django(data_dir: Path = DATA_DIR) -> None:
    """Configure Django and bring the database's schema up to date."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SCE_DATA_DIR", str(data_dir))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@contextmanager
def redis_running() -> Iterator[None]:
    """The bundled Redis while the block runs, unless REDIS_URL names one."""
    from django.conf import settings

    from core import embedded_redis, processes

    if not settings.EMBEDDED_REDIS:
        yield
        return
    process = embedded_redis.start(socket_path=settings.EMBEDDED_REDIS_SOCKET, data_dir=settings.DATA_DIR)
    try:
        yield
    finally:
        processes.stop(process)


def database_label() -> str:
    from django.db import connection

    return f"{connection.vendor} {connection.settings_dict['NAME']}"
