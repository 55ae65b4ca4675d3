"""A volume tenant's people and settings: owner, members, invitations, API keys, provider
credentials, blueprints — each made through the app's own services."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from api import services as api_services
from api.models import Scope
from bench.volume.spec import Spec
from conversations import services as conversation_services
from conversations.blueprints.builtin import BUILTIN
from providers import services as provider_services
from providers.models import CredentialKind
from tenants import services as tenant_services
from tenants.models import Membership, Role, Tenant, User

# The tenant's own provider keys: (name, kind, default model, base URL). The logs' providers
# are these and the platform's (anthropic, openai, embedded).
CREDENTIALS = [
    ("team-anthropic", CredentialKind.ANTHROPIC, "claude-sonnet-5-5", ""),
    ("team-openai", CredentialKind.OPENAI, "gpt-6-sol", ""),
    ("local-llama", CredentialKind.OPENAI_COMPATIBLE, "llama-3.1-8b-instruct", "http://127.0.0.1:8001/v1"),
]
ROLES = [Role.MEMBER, Role.MEMBER, Role.VIEWER, Role.ADMIN]


def email_domain(slug: str) -> str:
    """Every user of a volume tenant has an address here, so a rebuild can find them."""
    return f"{slug}.bench.example"


@dataclass(frozen=True)
class People:
    tenant: Tenant
    owner: User
    api_key_prefixes: list[str]


def tenant_with_people(*, slug: str, spec: Spec, rng: random.Random) -> People:
    """The tenant `slug` (which must be free), its owner and everything `spec` counts
    besides conversations, workflows and logs."""
    domain = email_domain(slug)
    owner = tenant_services.user_create(
        email=f"owner@{domain}", password=secrets.token_urlsafe(16), name=f"Owner of {slug}"
    )
    tenant = tenant_services.tenant_create(name=slug.replace("-", " ").capitalize(), owner=owner)
    if tenant.slug != slug:
        raise RuntimeError(f"the tenant came out as {tenant.slug!r}, not {slug!r}: is {slug!r} taken?")
    ownership = Membership.objects.for_tenant(tenant).get(user=owner)
    for index in range(spec.members):
        email = f"member{index}@{domain}"
        user = tenant_services.user_create(
            email=email, password=secrets.token_urlsafe(16), name=f"Member {index}"
        )
        issued = tenant_services.invitation_create(
            actor=ownership, email=email, role=ROLES[index % len(ROLES)]
        )
        tenant_services.invitation_accept(invitation=issued.invitation, user=user)
    for index in range(spec.invitations):
        tenant_services.invitation_create(actor=ownership, email=f"invited{index}@{domain}", role=Role.MEMBER)
    prefixes = []
    for index in range(spec.api_keys):
        scopes = rng.sample(list(Scope.values), k=rng.randint(1, len(Scope.values)))
        issued_key = api_services.api_key_create(
            tenant=tenant, actor=owner, name=f"service {index}", scopes=scopes, expires_in_days=365
        )
        prefixes.append(issued_key.key.prefix)
        if index % 4 == 3:  # a quarter of them retired
            api_services.api_key_revoke(key=issued_key.key, actor=owner)
    for name, kind, model, base_url in CREDENTIALS[: spec.credentials]:
        provider_services.credential_create(
            tenant=tenant,
            actor=owner,
            name=name,
            kind=kind,
            api_key=f"sk-volume-{rng.getrandbits(64):016x}",
            default_model=model,
            base_url=base_url,
        )
    sources = list(BUILTIN.values())
    for index in range(spec.blueprints):
        source = sources[index % len(sources)]
        conversation_services.blueprint_copy(
            tenant=tenant, actor=owner, source=source, name=f"{source.name} ({index + 1})"
        )
    return People(tenant=tenant, owner=owner, api_key_prefixes=prefixes)
