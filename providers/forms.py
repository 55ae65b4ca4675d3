from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator, URLValidator

from core.egress import validate_outbound_url
from providers.interface import Capability, Task
from providers.kinds import AZURE_API_VERSION, EMBEDDINGS_ONLY_KINDS
from providers.models import CredentialKind, LogState

MAX_TRY_PROMPT = 4000
ROUTE_SLOTS = 3

# Kinds with no vendor address of their own: the base URL says where the server is.
BASE_URL_REQUIRED = frozenset({CredentialKind.OPENAI_COMPATIBLE, CredentialKind.AZURE_OPENAI})
# The groq SDK cannot connect through the egress guard (providers/kinds/groq.py).
BASE_URL_REFUSED = frozenset({CredentialKind.GROQ})
# Local servers mostly take no key.
KEY_OPTIONAL = frozenset({CredentialKind.OPENAI_COMPATIBLE})
# Kinds that only embed: what their model is fit for is not asked (providers/kinds).
EMBEDDINGS_ONLY = frozenset(CredentialKind(kind) for kind in EMBEDDINGS_ONLY_KINDS)


CAPABILITY_CHOICES = [
    (Capability.PHRASING.value, "Phrasing questions and options"),
    (Capability.EXTRACTION.value, "Extracting answers and choosing among options"),
    (Capability.STRUCTURED_OUTPUT.value, "Writing workflows and plans to a schema"),
    (Capability.CODE.value, "Writing code"),
]


class CredentialForm(forms.Form):
    name = forms.SlugField(max_length=60, help_text="Letters, digits and dashes; routes and logs use it.")
    kind = forms.ChoiceField(
        choices=CredentialKind.choices,
        help_text="Voyage AI only turns text into embeddings: routing never sends it a chat request.",
    )
    default_model = forms.CharField(
        max_length=100,
        help_text=(
            "e.g. claude-sonnet-5-5, gpt-6-sol, gemini-2.5-flash, llama3.1; "
            "for Voyage AI its embedding model, e.g. voyage-3.5."
        ),
    )
    base_url = forms.CharField(
        label="Base URL",
        required=False,
        max_length=200,
        # The form refuses what the URL itself shows to be internal; the connection checks the
        # addresses its host resolves to (core/egress).
        validators=[URLValidator(schemes=["http", "https"]), validate_outbound_url],
        help_text=(
            "Required for an OpenAI-compatible server (e.g. https://llm.example.com/v1) and for Azure "
            "OpenAI (the resource's endpoint, https://NAME.openai.azure.com). Leave empty for the vendor's "
            "own API. Must be a public address."
        ),
    )
    api_version = forms.CharField(
        label="Azure API version",
        required=False,
        max_length=30,
        validators=[
            RegexValidator(r"^\d{4}-\d{2}-\d{2}(-preview)?$", "Write it as 2024-10-21 or 2025-04-01-preview.")
        ],
        widget=forms.TextInput(attrs={"placeholder": AZURE_API_VERSION}),
        help_text=f"Azure OpenAI only; empty for {AZURE_API_VERSION}.",
    )
    api_key = forms.CharField(
        label="API key",
        # Required for every kind but a local server's: checked in clean().
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted; shown only as its last four characters. A local server may need none.",
    )
    capabilities = forms.MultipleChoiceField(
        label="Fit for",
        choices=CAPABILITY_CHOICES,
        initial=[capability.value for capability in Capability],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=(
            "What this model may be trusted with. A small local model is best left to extraction: "
            "interviews then ask in their blueprint's own words, and other work goes to a bigger model. "
            "Not asked of Voyage AI, which only embeds."
        ),
    )
    # Present when the form was shown with its capability boxes: none ticked is then a
    # choice to refuse, not a request that never mentioned capabilities (the kind's own).
    capabilities_shown = forms.BooleanField(required=False, initial=True, widget=forms.HiddenInput)
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(
        self, *args: Any, editing: bool = False, taken_names: set[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.taken_names = taken_names or set()
        self.editing = editing
        if editing:
            self.fields["api_key"].required = False
            self.fields["api_key"].help_text = "Leave empty to keep the current key."
            self.fields["kind"].disabled = True

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name in self.taken_names:
            raise forms.ValidationError("Another credential of this organization has this name.")
        if name in ("gateway",):
            raise forms.ValidationError("This name is reserved.")
        return str(name)

    def clean_capabilities(self) -> list[str] | None:
        if self.cleaned_data.get("kind") in EMBEDDINGS_ONLY:
            return None  # boxes ticked for a kind that writes nothing are not kept
        ticked = list(self.cleaned_data.get("capabilities") or [])
        if ticked:
            return ticked
        if self.data.get(self.add_prefix("capabilities_shown")):
            raise forms.ValidationError("Tick at least one: a model fit for nothing would never be used.")
        return None

    def clean_api_key(self) -> str:
        return str(self.cleaned_data.get("api_key") or "").strip()

    def clean(self) -> dict[str, Any]:
        """What one kind needs and another refuses: a base URL, a key, an API version."""
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        label = CredentialKind(kind).label if kind in CredentialKind.values else ""
        if kind in BASE_URL_REQUIRED and "base_url" in cleaned and not cleaned["base_url"]:
            self.add_error("base_url", f"{label} needs the address of its server.")
        if kind in BASE_URL_REFUSED and cleaned.get("base_url"):
            self.add_error("base_url", f"{label} is reached at its own API only; leave this empty.")
        if not self.editing and kind not in KEY_OPTIONAL and "api_key" in cleaned and not cleaned["api_key"]:
            self.add_error("api_key", "This field is required.")
        if kind != CredentialKind.AZURE_OPENAI and cleaned.get("api_version"):
            self.add_error("api_version", "Only Azure OpenAI takes an API version.")
        return cleaned

    def options(self) -> dict[str, str]:
        """The credential's options (ProviderCredential.options) from the cleaned form."""
        if self.cleaned_data.get("kind") == CredentialKind.AZURE_OPENAI and self.cleaned_data.get(
            "api_version"
        ):
            return {"api_version": self.cleaned_data["api_version"]}
        return {}


class RouteForm(forms.Form):
    """The primary and fallbacks of one task: up to ROUTE_SLOTS (provider, model) pairs."""

    def __init__(self, *args: Any, task: Task, providers: list[str], **kwargs: Any) -> None:
        kwargs["prefix"] = f"route-{task.value}"
        super().__init__(*args, **kwargs)
        self.task = task
        choices = [("", "—"), *[(name, name) for name in providers]]
        for slot in range(ROUTE_SLOTS):
            role = "primary" if slot == 0 else f"fallback {slot}"
            self.fields[f"provider_{slot}"] = forms.ChoiceField(
                choices=choices,
                required=False,
                widget=forms.Select(attrs={"aria-label": f"{task.value} {role}"}),
            )
            self.fields[f"model_{slot}"] = forms.CharField(
                max_length=100,
                required=False,
                widget=forms.TextInput(
                    attrs={"aria-label": f"{task.value} {role} model", "placeholder": "model"}
                ),
            )

    def slots(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"provider_{slot}"], self[f"model_{slot}"]) for slot in range(ROUTE_SLOTS)]

    def targets(self) -> list[dict[str, str]]:
        targets = []
        for slot in range(ROUTE_SLOTS):
            provider = self.cleaned_data.get(f"provider_{slot}")
            if provider:
                target = {"provider": provider}
                if model := (self.cleaned_data.get(f"model_{slot}") or "").strip():
                    target["model"] = model
                targets.append(target)
        return targets


class GatewaySettingsForm(forms.Form):
    store_content = forms.BooleanField(required=False, label="Keep prompts and replies in the logs")
    requests_per_minute = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    monthly_token_budget = forms.IntegerField(required=False, min_value=1, label="Monthly token budget")
    monthly_cost_budget_usd = forms.DecimalField(
        required=False, min_value=0, max_digits=12, decimal_places=2, label="Monthly cost budget (USD)"
    )


class LogFilterForm(forms.Form):
    provider = forms.CharField(required=False, max_length=60)
    state = forms.ChoiceField(required=False, choices=[("", "any state"), *LogState.choices])
    task = forms.ChoiceField(required=False, choices=[("", "any task"), *[(t.value, t.value) for t in Task]])
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class TryForm(forms.Form):
    provider = forms.CharField(max_length=60)
    model = forms.CharField(max_length=100, required=False)
    prompt = forms.CharField(max_length=MAX_TRY_PROMPT, strip=True)
