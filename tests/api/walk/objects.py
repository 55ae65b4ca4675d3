"""What an API call may address: tenant A's own objects, made through the apps' services on
first use, and ids of the same kinds that exist nowhere.

The walk asks for A's objects with tenant B's key and for the missing ones alike: the two
answers must be the same once each id is put in place of the other (`as_foreign`). The
missing ids are long and odd so that such a swap cannot touch anything else in a body.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Protocol

from api import services as key_services
from api.inference import services as inference_services
from api.models import Scope
from conversations import services as conversation_services
from conversations.blueprints.builtin import NETWORK_SERVICE
from providers import services as provider_services
from tests.codegen.views.builders import completed
from tests.conftest import TenantUsers
from tests.workflows import samples
from tests.workflows.proposal_fixtures import complete_conversation, order_flow
from workflows import services as workflow_services
from workflows.models import Workflow
from workflows.proposals import services as proposal_services

# A's own provider. Nothing listens at its address: a call that gets as far as the provider
# fails there (a 5xx from the gateway), which is past every check the walk is about.
PROVIDER = "walk-private"
PROVIDER_MODEL = "walk-secret-model"
NOWHERE = "http://127.0.0.1:1"
# What A's requests and jobs say: no answer to another tenant may contain it.
SECRET_PROMPT = "acme-walk-secret-prompt"
# A file of every generation `completed` builds.
FILE_PATH = "app/main.py"


class Objects(Protocol):
    """The ids (or names) a request may address, one of each kind."""

    @property
    def model(self) -> str: ...
    @property
    def request_id(self) -> str: ...
    @property
    def job_id(self) -> int: ...
    @property
    def blueprint(self) -> str: ...
    @property
    def generation_id(self) -> int: ...
    @property
    def execution_id(self) -> str: ...
    @property
    def conversation_id(self) -> int: ...
    @property
    def workflow_version_id(self) -> int: ...
    @property
    def workflow_uuid(self) -> str: ...


class Missing:
    """Ids of every kind that no tenant has."""

    model = f"walk-missing-provider/{PROVIDER_MODEL}-missing"
    request_id = "f0f0f0f0-0000-4000-8000-000000000404"
    job_id = 987654301
    blueprint = "tenant:987654302"
    generation_id = 987654303
    execution_id = "987654304-1"
    conversation_id = 987654305
    workflow_version_id = 987654306
    workflow_uuid = "f0f0f0f0-0000-4000-8000-0000000f1404"


MISSING = Missing()
FIELDS = tuple(name for name in vars(Missing) if not name.startswith("_"))


class Owned:
    """Tenant A's objects (A: tenant_users.tenant), each made on first use."""

    def __init__(self, tenant_users: TenantUsers) -> None:
        self.tenant_users = tenant_users
        self.tenant = tenant_users.tenant
        # Room for every generation the walk asks for, as codegen's own tests give it.
        self.tenant.plan = "enterprise"
        self.tenant.save(update_fields=["plan"])
        # A's own provider also makes A an organization with a model that can write a
        # workflow or a service definition, so that its jobs are accepted.
        provider_services.credential_create(
            tenant=self.tenant,
            actor=None,
            name=PROVIDER,
            kind="anthropic",
            api_key="sk-ant-walk-0123456789abcdef",
            default_model=PROVIDER_MODEL,
            base_url=NOWHERE,
        )

    @cached_property
    def key(self) -> key_services.IssuedApiKey:
        """The key A's requests and jobs were made with."""
        return key_services.api_key_create(
            tenant=self.tenant, actor=self.tenant_users.owner, name="walk", scopes=list(Scope.values)
        )

    @property
    def model(self) -> str:
        return f"{PROVIDER}/{PROVIDER_MODEL}"

    @cached_property
    def request_id(self) -> str:
        """A finished (failed) inference request: its result and stream answer at once."""
        created = inference_services.inference_request_create(
            key=self.key.key, prompt=SECRET_PROMPT, model=self.model, max_tokens=16
        )
        inference_services.inference_fail(request=created, code="walk", message="Ended for the walk.")
        return str(created.request_id)

    @cached_property
    def job_id(self) -> int:
        return proposal_services.proposal_create_described(
            tenant=self.tenant, api_key=self.key.key.prefix, prompt=SECRET_PROMPT, context={}
        ).pk

    @cached_property
    def blueprint(self) -> str:
        own = conversation_services.blueprint_copy(
            tenant=self.tenant, actor=None, source=NETWORK_SERVICE, name="Acme walk blueprint"
        )
        return f"tenant:{own.pk}"

    @cached_property
    def generation_id(self) -> int:
        """A generation that ran to the end: files, and test run 1."""
        return completed(self.tenant_users).pk

    @property
    def execution_id(self) -> str:
        return f"{self.generation_id}-1"

    @cached_property
    def conversation_id(self) -> int:
        return complete_conversation(self.tenant_users, title="Acme walk interview").pk

    @cached_property
    def _workflow(self) -> Workflow:
        document = {**order_flow(), "name": "Acme walk workflow"}
        return workflow_services.workflow_create(
            tenant=self.tenant, actor=None, name="Acme walk workflow", document=document
        )

    @cached_property
    def workflow_version_id(self) -> int:
        return workflow_services.workflow_publish(workflow=self._workflow, actor=None).pk

    @property
    def workflow_uuid(self) -> str:
        return str(self._workflow.uuid)

    def markers(self) -> list[str]:
        """What names A or its objects: no answer to another tenant may contain any of it."""
        return [
            self.tenant.name,
            self.tenant.slug,
            SECRET_PROMPT,
            self.key.key.prefix,
            "Acme walk",
            "Order fulfilment",
        ]

    def as_foreign(self, text: str) -> str:
        """`text` (an answer about the missing objects) with A's ids in their place."""
        for name in FIELDS:
            missing = str(getattr(MISSING, name))
            if missing in text:  # only ids the call addressed: the others are never made
                text = text.replace(missing, str(getattr(self, name)))
        return text


def subflow_of(objects: Objects) -> dict[str, Any]:
    """A valid workflow that runs the workflow `objects.workflow_uuid` as a subflow."""
    nodes = [samples.node("start"), samples.node("child", "subflow", workflow_id=objects.workflow_uuid)]
    return samples.workflow(nodes, samples.chain("start", "child"), name="Walk parent")
