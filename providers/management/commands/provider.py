"""`manage.py provider …`: the gateway for operators.

Acts on the platform providers (from the environment, plus the embedded model) unless
`--tenant SLUG` names a tenant, whose credentials are then included.

Names, model ids, error messages and replies come from tenants and upstream servers: every
one is passed through `printable` before it reaches the terminal. --json output is not
(json.dumps escapes control characters itself).
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import time
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from redis.exceptions import RedisError

from core.terminal import printable
from providers import breaker, gateway, selectors, services
from providers.crypto import KeyringError
from providers.errors import ProviderError
from providers.interface import (
    DoneEvent,
    ErrorEvent,
    GatewayRequest,
    Message,
    StartEvent,
    Task,
    TokenEvent,
    UsageEvent,
)
from providers.kinds import ProviderConfig, client_for
from providers.models import LogState, ProviderCredential, ProviderLog
from providers.routing import credential_config, platform_providers
from providers.stream_reply import read_stream
from tenants.models import Tenant, User


def table(rows: list[list[str]], headers: list[str]) -> str:
    """Aligned columns; cells are escaped first, so that widths count what is shown."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False))
        for row in [headers, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


class Command(BaseCommand):
    help = "Inspect and exercise the provider gateway: health, stats, logs, circuit, test, rotate-keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="act for this tenant (its credentials included)")
        commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

        health = commands.add_parser("health", help="probe every provider at no cost (list its models)")
        health.add_argument("--verbose", action="store_true")
        health.add_argument("--json", action="store_true")

        stats = commands.add_parser("stats", help="requests, failures, tokens, cost and latency per provider")
        stats.add_argument("--hours", type=float, default=24.0)
        stats.add_argument("--json", action="store_true")

        logs = commands.add_parser("logs", help="the most recent calls")
        logs.add_argument("-n", type=int, default=20, dest="count")
        logs.add_argument("-p", "--provider")
        logs.add_argument("--failed", action="store_true")
        logs.add_argument("--json", action="store_true")

        circuit = commands.add_parser("circuit", help="circuit breaker states, and resets")
        circuit_commands = circuit.add_subparsers(dest="circuit_command", required=True, metavar="ACTION")
        status = circuit_commands.add_parser("status")
        status.add_argument("--json", action="store_true")
        reset = circuit_commands.add_parser("reset")
        reset.add_argument("name")
        reset.add_argument("--by", help="who resets it (an email); defaults to the operating-system user")

        test = commands.add_parser("test", help="send a prompt through the gateway to one provider")
        test.add_argument("name")
        test.add_argument("--model")
        test.add_argument("--stream", action="store_true")
        test.add_argument("--prompt", default="Say hello in one short sentence.")
        test.add_argument("--max-tokens", type=int, default=64)

        commands.add_parser("rotate-keys", help="re-encrypt every credential under the newest keyring key")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self._tenant(options.get("tenant"))
        command = options["command"]
        if command == "health":
            self.health(tenant, verbose=options["verbose"], as_json=options["json"])
        elif command == "stats":
            self.stats(tenant, hours=options["hours"], as_json=options["json"])
        elif command == "logs":
            self.logs(
                tenant,
                count=options["count"],
                provider=options["provider"],
                failed=options["failed"],
                as_json=options["json"],
            )
        elif command == "circuit" and options["circuit_command"] == "status":
            self.circuit_status(tenant, as_json=options["json"])
        elif command == "circuit":
            self.circuit_reset(tenant, options["name"], by=options["by"])
        elif command == "test":
            self.test(
                tenant,
                options["name"],
                model=options["model"],
                stream=options["stream"],
                prompt=options["prompt"],
                max_tokens=options["max_tokens"],
            )
        elif command == "rotate-keys":
            rotated, total = services.credentials_rotate_keys()
            self.stdout.write(f"Re-encrypted {rotated} of {total} credentials under the newest key.")

    # --- helpers ---------------------------------------------------------------------

    def _tenant(self, slug: str | None) -> Tenant | None:
        if not slug:
            return None
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {slug!r}")
        return tenant

    def _providers(self, tenant: Tenant | None) -> dict[str, ProviderConfig]:
        providers = platform_providers()
        if tenant is not None:
            for credential in ProviderCredential.objects.for_tenant(tenant).order_by("name"):
                try:
                    providers[credential.name] = credential_config(credential)
                except KeyringError as error:
                    self.stderr.write(f"credential {printable(credential.name)}: {error}")
        return providers

    def _provider(self, tenant: Tenant | None, name: str) -> ProviderConfig:
        providers = self._providers(tenant)
        if name not in providers:
            known = ", ".join(printable(known_name) for known_name in sorted(providers))
            raise CommandError(f"unknown provider {name!r}; known: {known}")
        return providers[name]

    def _breaker_state(self, config: ProviderConfig) -> str:
        try:
            return breaker.status(config.breaker_key).state.value
        except RedisError:
            return "unknown (Redis unreachable)"

    def _emit_json(self, value: object) -> None:
        self.stdout.write(json.dumps(value, indent=2, default=str))

    # --- commands --------------------------------------------------------------------

    def health(self, tenant: Tenant | None, *, verbose: bool, as_json: bool) -> None:
        results = async_to_sync(_probe_all)(list(self._providers(tenant).values()))
        if as_json:
            self._emit_json(results)
        else:
            rows = [
                [
                    r["name"],
                    r["kind"],
                    "ok" if r["ok"] else "FAIL",
                    f"{r['latency_ms']:.0f} ms",
                    str(r["models"]),
                    r["breaker"],
                ]
                for r in results
            ]
            self.stdout.write(table(rows, ["PROVIDER", "KIND", "STATUS", "LATENCY", "MODELS", "BREAKER"]))
            if verbose:
                for r in results:
                    self.stdout.write(
                        f"\n{printable(r['name'])}: base_url={printable(r['base_url'] or 'vendor default')}"
                        f" default_model={printable(r['default_model'])}"
                    )
                    if r["error"]:
                        self.stdout.write(f"  error: {printable(r['error'])}")
                    if r["model_ids"]:
                        models = ", ".join(printable(model_id) for model_id in r["model_ids"][:20])
                        self.stdout.write(f"  models: {models}")
        if not all(r["ok"] for r in results):
            sys.exit(1)

    def stats(self, tenant: Tenant | None, *, hours: float, as_json: bool) -> None:
        since = timezone.now() - timedelta(hours=hours)
        # The same selection and sums as the Usage page: its "last 24h" equals `--hours 24`.
        rows = selectors.stats_since(tenant=tenant, since=since)
        if as_json:
            self._emit_json([row.__dict__ | {"success_rate": row.success_rate} for row in rows])
            return
        if not rows:
            self.stdout.write(f"No calls in the last {hours:g} hours.")
            return
        lines = [
            [
                r.provider,
                str(r.requests),
                str(r.running),
                f"{r.success_rate:.1%}",
                str(r.input_tokens),
                str(r.output_tokens),
                f"${r.cost_usd:.4f}",
                f"{r.p50_ms} ms" if r.p50_ms is not None else "-",
                f"{r.p95_ms} ms" if r.p95_ms is not None else "-",
            ]
            for r in rows
        ]
        if len(rows) > 1:
            lines.append(
                [
                    "(all)",
                    str(sum(r.requests for r in rows)),
                    str(sum(r.running for r in rows)),
                    "",
                    str(sum(r.input_tokens for r in rows)),
                    str(sum(r.output_tokens for r in rows)),
                    f"${sum(r.cost_usd for r in rows):.4f}",
                    "",
                    "",
                ]
            )
        headers = ["PROVIDER", "CALLS", "RUNNING", "SUCCESS", "IN TOKENS", "OUT TOKENS", "COST", "P50", "P95"]
        self.stdout.write(table(lines, headers))

    def logs(
        self, tenant: Tenant | None, *, count: int, provider: str | None, failed: bool, as_json: bool
    ) -> None:
        rows = (
            ProviderLog.objects.for_platform() if tenant is None else ProviderLog.objects.for_tenant(tenant)
        )
        if provider:
            rows = rows.filter(provider=provider)
        if failed:
            rows = rows.filter(state__in=[LogState.FAILED, LogState.FAILED_PARTIAL])
        entries = list(rows.order_by("-started_at")[:count])
        if as_json:
            self._emit_json([_log_record(entry) for entry in entries])
            return
        self.stdout.write(
            table(
                [
                    [
                        e.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                        e.provider,
                        e.model,
                        e.state,
                        str(e.attempts),
                        f"{e.input_tokens}+{e.output_tokens}{'~' if e.usage_estimated else ''}",
                        f"${e.cost_usd:.5f}",
                        f"{e.duration_ms} ms" if e.duration_ms is not None else "-",
                        e.error_code or "",
                    ]
                    for e in entries
                ],
                ["STARTED", "PROVIDER", "MODEL", "STATE", "TRIES", "TOKENS", "COST", "DURATION", "ERROR"],
            )
        )

    def circuit_status(self, tenant: Tenant | None, *, as_json: bool) -> None:
        entries: list[dict[str, Any]] = []
        for name, config in self._providers(tenant).items():
            try:
                status = breaker.status(config.breaker_key)
            except RedisError:
                entries.append({"provider": name, "state": "unknown", "failures": None, "opened_at": None})
                continue
            entries.append(
                {
                    "provider": name,
                    "state": status.state.value,
                    "failures": status.failures,
                    "opened_at": status.opened_at,
                }
            )
        if as_json:
            self._emit_json(entries)
            return
        rows = [
            [
                e["provider"],
                str(e["state"]),
                "-" if e["failures"] is None else str(e["failures"]),
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["opened_at"])) if e["opened_at"] else "-",
            ]
            for e in entries
        ]
        self.stdout.write(table(rows, ["PROVIDER", "STATE", "FAILURES", "OPENED AT"]))

    def circuit_reset(self, tenant: Tenant | None, name: str, *, by: str | None) -> None:
        config = self._provider(tenant, name)
        actor = User.objects.filter(email__iexact=by).first() if by else None
        label = by or getpass.getuser()
        try:
            reset = services.circuit_reset(
                breaker_key=config.breaker_key,
                provider=name,
                tenant=tenant,
                actor=actor,
                via="cli",
                label=label,
            )
        except RedisError as error:
            raise CommandError(f"the breaker store (Redis) is unreachable: {error}") from error
        self.stdout.write(
            f"Circuit of {printable(name)} reset (was {reset.previous_state}),"
            f" recorded as reset by {printable(label)}."
        )

    def test(
        self,
        tenant: Tenant | None,
        name: str,
        *,
        model: str | None,
        stream: bool,
        prompt: str,
        max_tokens: int,
    ) -> None:
        self._provider(tenant, name)  # an unknown name fails here, with the known ones listed
        request = GatewayRequest(
            task=Task.API,
            messages=(Message("user", prompt),),
            tenant_id=tenant.pk if tenant else None,
            provider=name,
            model=model,
            max_tokens=max_tokens,
            deadline_seconds=120,
        )
        started = time.monotonic()
        if stream:
            ok = async_to_sync(self._stream)(request, started)
        else:
            try:
                completion = gateway.complete_sync(request)
            except ProviderError as error:
                raise CommandError(f"{error.code.value}: {printable(error.recorded_message)}") from error
            self.stdout.write(printable(completion.text, keep_line_breaks=True))
            usage = completion.usage
            self.stdout.write(
                f"\n[{printable(completion.provider)}/{printable(completion.model)}"
                f" · {usage.input_tokens}+{usage.output_tokens} tokens"
                f"{' (estimated)' if usage.estimated else ''} · ${completion.cost_usd:.6f} · "
                f"{(time.monotonic() - started) * 1000:.0f} ms · {completion.attempts} attempt(s)]"
            )
            ok = True
        if not ok:
            sys.exit(1)

    async def _stream(self, request: GatewayRequest, started: float) -> bool:
        first_token: float | None = None

        def start(event: StartEvent) -> None:
            self.stdout.write(f"[{printable(event.provider)}/{printable(event.model)} · {event.request_id}]")

        def token(event: TokenEvent) -> None:
            nonlocal first_token
            first_token = first_token or time.monotonic()
            self.stdout.write(printable(event.text, keep_line_breaks=True), ending="")
            self.stdout.flush()

        def usage(event: UsageEvent) -> None:
            estimated = " (estimated)" if event.estimated else ""
            self.stdout.write(f"\n[{event.input_tokens}+{event.output_tokens} tokens{estimated}]")

        def done(event: DoneEvent) -> None:
            ttft = f"{(first_token - started) * 1000:.0f} ms" if first_token else "-"
            total = f"{(time.monotonic() - started) * 1000:.0f} ms"
            self.stdout.write(f"[done: {printable(event.finish_reason)} · first token {ttft} · {total}]")

        def error(event: ErrorEvent) -> None:
            self.stderr.write(f"\n[error {event.code.value}: {printable(event.message)}]")

        reply = await read_stream(
            gateway.stream(request),
            on_start=start,
            on_token=token,
            on_usage=usage,
            on_done=done,
            on_error=error,
        )
        return reply.error is None


def _log_record(entry: ProviderLog) -> dict[str, Any]:
    return {
        "request_id": entry.request_id,
        "started_at": entry.started_at.isoformat(),
        "provider": entry.provider,
        "model": entry.model,
        "task": entry.task,
        "state": entry.state,
        "attempts": entry.attempts,
        "fallback_from": entry.fallback_from,
        "input_tokens": entry.input_tokens,
        "output_tokens": entry.output_tokens,
        "usage_estimated": entry.usage_estimated,
        "cost_usd": str(entry.cost_usd),
        "duration_ms": entry.duration_ms,
        "error_code": entry.error_code,
        "error_message": entry.error_message,
    }


async def _probe(config: ProviderConfig) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {
        "name": config.name,
        "kind": config.kind,
        "base_url": config.base_url,
        "default_model": config.default_model,
        "ok": False,
        "error": "",
        "models": 0,
        "model_ids": [],
    }
    try:
        model_ids = await asyncio.wait_for(client_for(config).list_models(), timeout=15)
    except ProviderError as error:
        result["error"] = f"{error.code.value}: {error.recorded_message}"
    except TimeoutError:
        result["error"] = "timeout: no answer within 15 s"
    else:
        result.update(ok=True, models=len(model_ids), model_ids=model_ids)
    result["latency_ms"] = (time.monotonic() - started) * 1000
    try:
        result["breaker"] = breaker.status(config.breaker_key).state.value
    except RedisError:
        result["breaker"] = "unknown"
    return result


async def _probe_all(configs: list[ProviderConfig]) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(_probe(config) for config in configs)))
