from __future__ import annotations

from typing import Any

from django import forms

from api.models import Scope

MAX_EXPIRY_DAYS = 3650
# A bound that stops typos (a limit of 10^9 is no limit); the tenant's own limit applies too.
MAX_REQUESTS_PER_MINUTE = 100_000


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What uses it, e.g. “billing sync” or “staging gateway”."
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one scope: a key without one can do nothing."},
        help_text="What the key may be used for.",
    )
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        help_text="Leave empty for a key that works until it is revoked.",
    )
    requests_per_minute = forms.IntegerField(
        label="Requests per minute",
        required=False,
        min_value=1,
        max_value=MAX_REQUESTS_PER_MINUTE,
        help_text="Calls this key may make a minute. Leave empty for no limit of its own.",
    )

    def __init__(self, *args: Any, organization_limit: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Say that a key's limit works within the organization's, which it cannot raise.
        if organization_limit is not None:
            self.fields["requests_per_minute"].help_text = (
                "Calls this key may make a minute. Leave empty for no limit of its own; the "
                f"organization's limit of {organization_limit} model calls a minute applies to every key."
            )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the key a name.")
        return name
