"""Fail-closed tenant scoping for tenant-owned models.

`Model.objects` refuses every query that has not named its tenant: reads start from
`Model.objects.for_tenant(tenant)`. The one escape hatch is spelled
`dangerously_unscoped()` so that it stands out in review (operators' admin, a lookup by
a secret token, cross-tenant maintenance jobs).

Rows are written with `Model.objects.create(tenant=..., ...)` or `instance.save()`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

if TYPE_CHECKING:
    from tenants.models import Tenant

M = TypeVar("M", bound=models.Model)


class UnscopedQueryError(RuntimeError):
    """A tenant-owned model was queried without naming the tenant."""


class TenantScopedManager(models.Manager[M]):
    def get_queryset(self) -> models.QuerySet[M]:
        raise UnscopedQueryError(
            f"{self.model.__name__} is tenant-owned: query it through "
            f"{self.model.__name__}.objects.for_tenant(tenant)"
        )

    def for_tenant(self, tenant: Tenant) -> models.QuerySet[M]:
        if tenant is None or tenant.pk is None:
            raise UnscopedQueryError(f"{self.model.__name__}.objects.for_tenant() needs a saved tenant")
        return super().get_queryset().filter(tenant=tenant)

    def dangerously_unscoped(self) -> models.QuerySet[M]:
        """Every tenant's rows. Only for operators and lookups keyed by a secret."""
        return super().get_queryset()

    def create(self, **kwargs: Any) -> M:
        if kwargs.get("tenant") is None and kwargs.get("tenant_id") is None:
            raise UnscopedQueryError(f"{self.model.__name__}.objects.create() needs tenant=")
        return super().get_queryset().create(**kwargs)


class TenantOwnedModel(models.Model):
    """Base of every model that belongs to one tenant."""

    # No reverse accessor (tenant.<model>_set would be an unscoped door); lookups from the
    # tenant side use the query name "<app>_<model>".
    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.CASCADE,
        related_name="+",
        related_query_name="%(app_label)s_%(class)s",
    )

    objects = TenantScopedManager()

    class Meta:
        abstract = True

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        """Django's checks of constraints (model forms, the admin), with unique constraints
        checked within the tenant: Django's own query goes through the default manager,
        which refuses. A unique constraint without the tenant is left to the database, so
        its message cannot tell one tenant about another's rows."""
        excluded = set(exclude or ())
        errors: dict[str, list[ValidationError]] = {}
        for model_class, constraints in self.get_constraints():
            for constraint in constraints:
                try:
                    if isinstance(constraint, models.UniqueConstraint):
                        self._validate_unique_in_tenant(model_class, constraint, excluded)
                    else:
                        constraint.validate(model_class, self, exclude=excluded)  # type: ignore[attr-defined]
                except ValidationError as error:
                    errors.setdefault(NON_FIELD_ERRORS, []).append(error)
        if errors:
            raise ValidationError(errors)

    def _validate_unique_in_tenant(
        self, model_class: type[models.Model], constraint: models.UniqueConstraint, excluded: set[str]
    ) -> None:
        fields = list(constraint.fields)
        # A tenant that failed its own validation is in `excluded`.
        if "tenant" not in fields or constraint.condition is not None or excluded & set(fields):
            return
        lookup = {name: getattr(self, model_class._meta.get_field(name).attname) for name in fields}  # type: ignore[union-attr]
        rows = model_class._default_manager.for_tenant(self.tenant).filter(**lookup)  # type: ignore[attr-defined]
        if rows.exclude(pk=self.pk).exists():
            raise ValidationError(self.unique_error_message(type(self), tuple(fields)))
