"""The bodies of seed 002's generation and testing API, as pydantic models (and so OpenAPI).

Requests are strict pydantic models (not ninja's Schema, whose validator reads attributes of
any object, so a list would pass for the options): a value of the wrong type is a 400 naming
its field, never coerced ("true" is not a boolean, "7" is not an id). Unknown fields are
ignored, so a client that sends more of the seed's request is not refused for them.
"""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

# --- Requests ------------------------------------------------------------------------------


class GenerationOptions(BaseModel):
    """What to generate besides the service itself, and in which language and framework."""

    model_config = ConfigDict(strict=True, frozen=True)  # frozen: one default serves every request

    language: str = Field(default="python", max_length=40, examples=["python"])
    framework: str = Field(default="fastapi", max_length=40, examples=["fastapi"])
    target: str | None = Field(
        default=None,
        max_length=40,
        description="The target's key (e.g. `python-fastapi`); by default `<language>-<framework>`.",
        examples=["python-fastapi"],
    )
    include_tests: bool = Field(default=True, description="Generate tests and run them in the sandbox.")
    include_docs: bool = Field(default=True, description="Write README.md and API.md.")
    include_deployment: bool = Field(default=True, description="Write a Dockerfile and its configuration.")


class GenerateCodeRequest(BaseModel):
    """A generation from requirements (seed 002's flat object, or an interview's JSON
    download) or from one of the tenant's finished interviews."""

    model_config = ConfigDict(
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "requirements": {
                        "service_type": "vFirewall",
                        "vendor": "Cisco",
                        "features": ["traffic_filtering", "threat_detection"],
                        "pricing_model": "monthly",
                    },
                    "options": {"language": "python", "framework": "fastapi", "include_tests": True},
                    "mode": "template",
                }
            ]
        },
    )

    conversation_id: int | None = Field(
        default=None,
        description="A finished interview of the tenant: its answers are the requirements "
        "(any `requirements` sent along are then not used).",
        examples=[12],
    )
    requirements: dict[str, Any] | None = Field(
        default=None,
        description="Either seed 002's requirements (one key per requirement, any JSON value) or "
        "an interview's JSON download (`{title, blueprint, requirements: {key: {label, value}}}`).",
    )
    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The service's name; by default the requirements' title or service type.",
        examples=["vFirewall service"],
    )
    options: GenerationOptions = GenerationOptions()
    mode: Literal["template", "model"] | None = Field(
        default=None,
        description="`template` writes the files offline from templates; `model` asks the tenant's "
        "AI model. By default: the model when one fit for code is set up, templates otherwise.",
    )
    workflow_version_id: int | None = Field(
        default=None, description="A published workflow version of the tenant for the service to implement."
    )
    workflow: dict[str, Any] | None = Field(
        default=None, description="A workflow document for the service to implement (instead of a version)."
    )


class ExecuteTestsRequest(BaseModel):
    """Run a finished generation's tests again, in the sandbox."""

    model_config = ConfigDict(strict=True)

    generation_id: int = Field(examples=[42])
    test_type: Literal["all"] = Field(default="all", description="Only the whole suite is run.")
    environment: Literal["sandbox"] = Field(
        default="sandbox", description="Tests run only in the sandbox: no network, a read-only system."
    )


# --- Responses -----------------------------------------------------------------------------


class ErrorBody(Schema):
    """Every refusal: a stable code, a sentence for people, and details when there are any."""

    error: str = Field(examples=["quota_exceeded"])
    message: str = Field(examples=["The Free plan includes 1 generation a month, and it has been used."])
    details: Any = Field(
        default=None, examples=[{"plan": "free", "limit": 1, "used": 1, "resets_on": "2026-02-01"}]
    )


class QuotaState(Schema):
    limit: int | None = Field(description="Generations a month on the plan; null: unlimited.", examples=[10])
    used: int = Field(examples=[3])
    left: int | None = Field(examples=[7])


class GenerationAccepted(Schema):
    """The generation was queued; follow it at `status_url` or on the socket at `events_url`."""

    generation_id: int = Field(examples=[42])
    status: str = Field(description="The generation's state: `queued` at first.", examples=["queued"])
    mode: Literal["template", "model"] = Field(examples=["template"])
    target: str = Field(examples=["python-fastapi"])
    status_url: str = Field(examples=["/api/v1/generate/42"])
    events_url: str = Field(examples=["/api/v1/generate/42/ws"])
    quota: QuotaState


class GeneratedFileEntry(Schema):
    name: str = Field(description="The file's path in the project.", examples=["app/main.py"])
    type: str = Field(description="Its language.", examples=["python"])
    size: int = Field(description="Bytes of its latest version (0 before it is written).", examples=[1532])
    status: str = Field(
        description="`planned`, `generating`, `valid`, `fixed` (after a fix) or `failing`.",
        examples=["valid"],
    )
    version: int | None = Field(description="The latest version's number.", examples=[1])
    sha256: str = Field(examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
    url: str | None = Field(
        description="The latest version's content.", examples=["/api/v1/generate/42/files/app/main.py"]
    )
    content: str | None = Field(
        description="The latest version's content (left out with `?content=false`).",
        examples=["from fastapi import FastAPI\n\napp = FastAPI()\n"],
    )


class Timings(Schema):
    queued_at: str = Field(examples=["2026-01-07T10:00:00+00:00"])
    started_at: str | None = Field(examples=["2026-01-07T10:00:01+00:00"])
    finished_at: str | None = Field(examples=["2026-01-07T10:00:09+00:00"])
    transitions: list[dict[str, str]] = Field(
        description="Every change of state with its time.",
        examples=[[{"state": "queued", "at": "2026-01-07T10:00:00+00:00"}]],
    )


class RunSummary(Schema):
    total: int = Field(examples=[12])
    passed: int = Field(examples=[11])
    failed: int = Field(examples=[1])
    errors: int = Field(examples=[0])
    skipped: int = Field(examples=[0])
    duration: float = Field(description="Seconds the tests took, per their report.", examples=[1.84])


class GenerationTests(Schema):
    execution_id: str | None = Field(description="The latest test run's.", examples=["42-1"])
    outcome: str | None = Field(
        description="`passed`, `failed`, `error` (could not run) or `running`.", examples=["passed"]
    )
    runs: int = Field(examples=[1])
    summary: RunSummary | None


class Usage(Schema):
    input_tokens: int = Field(examples=[0])
    output_tokens: int = Field(examples=[0])
    cost_usd: float = Field(examples=[0.0])
    model_calls: int = Field(examples=[0])


class GenerationMetadata(Schema):
    mode: str = Field(examples=["template"])
    target: str = Field(examples=["python-fastapi"])
    files_count: int = Field(examples=[15])
    lines_of_code: int = Field(examples=[1254])
    generation_time: float | None = Field(
        description="Seconds from start to end (so far, while it runs).", examples=[8.4]
    )
    timings: Timings
    tests: GenerationTests
    usage: Usage


class GenerationError(Schema):
    code: str = Field(examples=["timeout"])
    message: str = Field(examples=["the model did not answer in time"])


class GenerationStatus(Schema):
    generation_id: int = Field(examples=[42])
    title: str = Field(examples=["vFirewall service"])
    status: str = Field(
        description="`queued`, `planning`, `generating`, `validating`, `checking`, `documenting`, "
        "`testing`, `completed`, `failed` or `cancelled`.",
        examples=["completed"],
    )
    progress: int = Field(description="Percent done.", examples=[100])
    files: list[GeneratedFileEntry]
    metadata: GenerationMetadata
    error: GenerationError | None = Field(description="Why it failed; null otherwise.")
    archive_url: str = Field(description="Every file, as a zip.", examples=["/api/v1/generate/42/archive"])
    events_url: str = Field(examples=["/api/v1/generate/42/ws"])


class PendingTest(Schema):
    name: str = Field(examples=["test_health"])
    status: Literal["pending"] = "pending"


class ExecutionAccepted(Schema):
    """The tests were queued; their results are at `results_url`."""

    test_execution_id: str = Field(description="`<generation id>-<run number>`.", examples=["42-2"])
    generation_id: int = Field(examples=[42])
    status: str = Field(examples=["queued"])
    progress: int = Field(examples=[0])
    tests: list[PendingTest] = Field(description="The tests the previous run found, to run again.")
    results_url: str = Field(examples=["/api/v1/testing/42-2/results"])


class CaseOutcome(Schema):
    test_name: str = Field(examples=["test_create_instance"])
    classname: str = Field(examples=["tests.test_api"])
    status: str = Field(description="`passed`, `failed`, `error` or `skipped`.", examples=["passed"])
    duration: float = Field(description="Seconds.", examples=[0.02])
    message: str = Field(description="The failure, error or skip message.", examples=[""])


class ExecutionResults(Schema):
    execution_id: str = Field(examples=["42-2"])
    generation_id: int = Field(examples=[42])
    status: str = Field(
        description="`queued`, `running`, `completed`, or `cancelled`/`interrupted` when the run "
        "stopped before its end.",
        examples=["completed"],
    )
    outcome: str | None = Field(
        description="Once completed: `passed`, `failed`, or `error` (the tests could not run).",
        examples=["passed"],
    )
    summary: RunSummary
    results: list[CaseOutcome]
    exit_code: int | None = Field(examples=[0])
    timed_out: bool = Field(examples=[False])
    reason: str = Field(description="Why the run did not finish normally, if it did not.", examples=[""])
    output: str = Field(
        description="The end of what the test command printed.", examples=["12 passed in 1.84s"]
    )
    started_at: str | None = Field(examples=["2026-01-07T10:01:00+00:00"])
    finished_at: str | None = Field(examples=["2026-01-07T10:01:03+00:00"])
