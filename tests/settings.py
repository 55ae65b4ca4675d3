"""Settings for the test suite: the project's settings, with a private data directory.

Servers the tests start as subprocesses (daphne, a Celery worker) use this module too and
inherit SCE_DATA_DIR, so they share the test database and the embedded Redis.
"""

from __future__ import annotations

import os
import tempfile

# Short path: the embedded Redis listens on a Unix socket inside it (108-byte limit).
os.environ.setdefault("SCE_DATA_DIR", tempfile.mkdtemp(prefix="sce-test-"))
# Code under test reaches Temporal only where a test points it at the session's dev server
# (tests/temporal.py): elsewhere the embedded address is a port nothing listens on, never a
# developer's `serve` on the default port.
os.environ.setdefault("TEMPORAL_EMBEDDED_PORT", "1")

from config.settings import *
from config.settings import DATA_DIR, DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not the in-memory default, so subprocess servers see the same database.
    _db["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
else:
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}"}

if os.environ.get("SCE_TEST_SERVER") == "1":
    # A server started by the tests works on the database the test run created.
    _db["NAME"] = _db["TEST"]["NAME"]

# Tests record prices after the shared daphne server may have read (and cached) none.
PRICE_CACHE_SECONDS = 0.0

# The wire emulators listen on loopback and tests point tenants' credentials at them; tests
# of the egress guard itself set this back to [] (strict).
EGRESS_ALLOWED_HOSTS = ["127.0.0.1"]

# Workers a test starts and kills run on a queue of their own, where the suite's shared
# worker (tests.servers.celery_worker) cannot take their jobs.
if os.environ.get("SCE_TEST_CELERY_QUEUE"):
    CELERY_TASK_DEFAULT_QUEUE = os.environ["SCE_TEST_CELERY_QUEUE"]
