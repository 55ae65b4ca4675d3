"""`manage.py apikey …`: tenant API keys for operators and scripts.

    apikey create --tenant SLUG --name NAME --scope SCOPE [SCOPE …] [--expires DAYS] [--rpm N]
    apikey list --tenant SLUG
    apikey revoke PREFIX

`create` prints the key once, alone on stdout (so a script can capture it), and what it is
on stderr. Bad input exits with status 2 and says why. Names come from tenants: they pass
through `printable` before reaching the terminal.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from api import selectors, services
from api.forms import MAX_EXPIRY_DAYS, MAX_REQUESTS_PER_MINUTE
from api.models import ApiKeyEvent, Scope
from core.terminal import printable
from tenants.models import Tenant

BAD_INPUT = 2


def _bad_input(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


def _operator() -> str:
    """Who runs the command, for the audit trail."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        return ""


class Command(BaseCommand):
    help = "Create, list and revoke tenant API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

        create = commands.add_parser("create", help="make a key and print it, once")
        create.add_argument("--tenant", metavar="SLUG", required=True)
        create.add_argument("--name", required=True)
        create.add_argument(
            "--scope",
            dest="scopes",
            nargs="+",
            action="extend",
            required=True,
            metavar="SCOPE",
            help=f"one or more of: {', '.join(Scope.values)}",
        )
        create.add_argument("--expires", type=int, metavar="DAYS", help="days until the key stops working")
        create.add_argument(
            "--rpm",
            type=int,
            metavar="N",
            help="requests a minute the key may make, besides its tenant's limits (default: none of its own)",
        )

        listing = commands.add_parser("list", help="a tenant's keys (prefixes, never secrets)")
        listing.add_argument("--tenant", metavar="SLUG", required=True)

        revoke = commands.add_parser("revoke", help="stop a key working, at once")
        revoke.add_argument("prefix", metavar="PREFIX", help="the key's prefix, sce_ and 8 characters")

    def handle(self, *args: Any, **options: Any) -> None:
        command = options["command"]
        if command == "create":
            self.create(
                options["tenant"], options["name"], options["scopes"], options["expires"], options["rpm"]
            )
        elif command == "list":
            self.list_keys(options["tenant"])
        else:
            self.revoke(options["prefix"])

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise _bad_input(f"no tenant with slug {printable(slug)!r}")
        return tenant

    def create(self, slug: str, name: str, scopes: list[str], expires: int | None, rpm: int | None) -> None:
        tenant = self._tenant(slug)
        name = name.strip()
        if not name or len(name) > 100:
            raise _bad_input("--name must be 1 to 100 characters")
        unknown = [scope for scope in scopes if scope not in Scope.values]
        if unknown:
            raise _bad_input(
                f"unknown scope {printable(unknown[0])!r}: choose from {', '.join(Scope.values)}"
            )
        if expires is not None and not 1 <= expires <= MAX_EXPIRY_DAYS:
            raise _bad_input(f"--expires must be between 1 and {MAX_EXPIRY_DAYS} days")
        if rpm is not None and not 1 <= rpm <= MAX_REQUESTS_PER_MINUTE:
            raise _bad_input(f"--rpm must be between 1 and {MAX_REQUESTS_PER_MINUTE} requests a minute")
        issued = services.api_key_create(
            tenant=tenant,
            actor=None,
            name=name,
            scopes=scopes,
            expires_in_days=expires,
            requests_per_minute=rpm,
            via=ApiKeyEvent.Via.COMMAND_LINE,
            origin=_operator(),
        )
        key = issued.key
        until = f" until {key.expires_at:%Y-%m-%d %H:%M} UTC" if key.expires_at else ""
        limit = f", at most {key.requests_per_minute} requests a minute" if key.requests_per_minute else ""
        self.stderr.write(
            f"Created {key.prefix} ({printable(key.name)}) for {tenant.slug}, scopes "
            f"{', '.join(key.scopes)}{until}{limit}. The key is printed below, this once only:"
        )
        self.stdout.write(issued.plaintext)

    def list_keys(self, slug: str) -> None:
        tenant = self._tenant(slug)
        keys = list(selectors.api_keys_of_tenant(tenant=tenant))
        if not keys:
            self.stdout.write(f"{tenant.slug} has no API keys.")
            return
        rows = [
            [
                key.prefix,
                printable(key.name),
                key.status,
                ",".join(key.scopes),
                str(key.requests_per_minute) if key.requests_per_minute else "-",
                f"{key.created_at:%Y-%m-%d}",
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
                f"{key.expires_at:%Y-%m-%d}" if key.expires_at else "never",
            ]
            for key in keys
        ]
        headers = ["PREFIX", "NAME", "STATUS", "SCOPES", "RPM", "CREATED", "LAST USED", "EXPIRES"]
        widths = [max(len(row[column]) for row in [headers, *rows]) for column in range(len(headers))]
        for row in [headers, *rows]:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )

    def revoke(self, prefix: str) -> None:
        key = selectors.api_key_by_prefix(prefix=prefix.strip().rstrip("…"))
        if key is None:
            raise _bad_input(
                f"no API key with prefix {printable(prefix)!r} (see `apikey list --tenant SLUG`)"
            )
        if key.revoked_at is not None:
            self.stdout.write(f"{key.prefix} was already revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC.")
            return
        services.api_key_revoke(key=key, actor=None, via=ApiKeyEvent.Via.COMMAND_LINE, origin=_operator())
        self.stdout.write(
            f"Revoked {key.prefix} ({printable(key.name)}) of {key.tenant.slug}: refused from now on."
        )
