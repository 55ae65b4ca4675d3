"""config/settings.py read under different environments (run fresh, not Django's copy)."""

from __future__ import annotations

import logging
import runpy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from providers.crypto import new_key_spec

SETTINGS = Path(__file__).resolve().parent.parent / "config" / "settings.py"
ENV_NAMES = [
    "PROVIDER_KEYRING", "ANTHROPIC_API_KEY", "OPENAI_API_KEY",
    "DATABASE_URL", "REDIS_URL", "SITE_ROOT", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG",
    "SECURE_HSTS_SECONDS", "EMAIL_HOST", "DB_POOL_MAX_SIZE",
    "ANTHROPIC_CAPABILITIES", "OPENAI_CAPABILITIES", "EMBEDDED_CAPABILITIES",
]  # fmt: skip


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    def load(**env: str) -> dict[str, Any]:
        for name in ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SCE_DATA_DIR", str(tmp_path))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS))

    return load


def test_embedded_defaults(load: Any, tmp_path: Path) -> None:
    settings = load()
    assert settings["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["EMBEDDED_REDIS"] is True
    assert settings["REDIS_URL"] == f"unix://{tmp_path}/redis.sock"
    assert settings["CELERY_BROKER_URL"] == f"redis+socket://{tmp_path}/redis.sock"
    assert settings["DEBUG"] is False
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 0
    assert settings["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    assert settings["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_the_embedded_secret_key_is_made_once_and_kept(load: Any, tmp_path: Path) -> None:
    first = load()["SECRET_KEY"]
    assert len(first) >= 50
    assert load()["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_services(load: Any) -> None:
    settings = load(DATABASE_URL="postgres://sce:pw@db.internal:5432/sce", REDIS_URL="redis://cache:6379/2")
    database = settings["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 10, "timeout": 10}
    assert settings["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"] == ["redis://cache:6379/2"]
    assert settings["CELERY_BROKER_URL"] == "redis://cache:6379/2"
    assert settings["CACHES"]["default"]["LOCATION"] == "redis://cache:6379/2"
    assert settings["EMBEDDED_REDIS"] is False


def test_https_turns_on_secure_cookies_and_hsts(load: Any) -> None:
    settings = load(
        SITE_ROOT="https://sce.example.com", SECRET_KEY="x" * 50, PROVIDER_KEYRING=new_key_spec("k1")
    )
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True
    assert settings["SECURE_HSTS_SECONDS"] == 365 * 24 * 60 * 60
    assert settings["CSRF_TRUSTED_ORIGINS"] == ["https://sce.example.com"]
    assert "sce.example.com" in settings["ALLOWED_HOSTS"]


def test_https_requires_a_secret_key(load: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        load(SITE_ROOT="https://sce.example.com")


def test_https_requires_a_provider_keyring(load: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match="PROVIDER_KEYRING"):
        load(SITE_ROOT="https://sce.example.com", SECRET_KEY="x" * 50)


def test_embedded_mode_makes_a_keyring_once(load: Any, tmp_path: Path) -> None:
    first = load()["PROVIDER_KEYRING"]
    assert first.startswith("k1:")
    assert load()["PROVIDER_KEYRING"] == first
    assert (tmp_path / "provider_keyring").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("hosts", ["*", "sce.example.com,*", " * "])
def test_a_wildcard_host_is_refused(load: Any, hosts: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_HOSTS"):
        load(ALLOWED_HOSTS=hosts)


@pytest.mark.parametrize(
    ("name", "value"), [("DEBUG", "maybe"), ("SECURE_HSTS_SECONDS", "ten"), ("SITE_ROOT", "ftp://x")]
)
def test_malformed_values_are_refused_by_name(load: Any, name: str, value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        load(**{name: value})


def test_smtp_when_an_email_host_is_set(load: Any) -> None:
    assert (
        load(EMAIL_HOST="smtp.example.com")["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    )


def test_the_http_clients_request_lines_stay_off_the_console() -> None:
    """The SDKs' httpx logs every request at INFO: noise on a command's stderr."""
    for name in ("httpx", "httpx2", "httpcore"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name


def test_platform_capabilities_come_from_the_environment(load: Any) -> None:
    settings = load(OPENAI_CAPABILITIES="extraction, code")
    assert settings["OPENAI_CAPABILITIES"] == ["extraction", "code"]
    assert settings["EMBEDDED_CAPABILITIES"] == ["extraction"]
    with pytest.raises(ImproperlyConfigured, match="OPENAI_CAPABILITIES"):
        load(OPENAI_CAPABILITIES="phrasing,poetry")
