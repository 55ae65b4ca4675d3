"""The member table as one member sees it: what each row lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenants import selectors
from tenants.models import Membership


@dataclass(frozen=True)
class MemberRow:
    member: Membership
    is_self: bool
    can_change: bool


def member_table_context(*, viewer: Membership) -> dict[str, Any]:
    rows = [
        MemberRow(
            member=member,
            is_self=member.pk == viewer.pk,
            can_change=member.pk != viewer.pk and viewer.can_manage(member.role),
        )
        for member in selectors.members_of_tenant(tenant=viewer.tenant)
    ]
    return {
        "rows": rows,
        "tenant": viewer.tenant,
        "role_choices": [(role.value, role.label) for role in viewer.grantable_roles()],
    }
