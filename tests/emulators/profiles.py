"""How far an OpenAI-compatible server follows the OpenAI Chat Completions API: profiles.

The OpenAI emulator speaks OpenAI's API in full unless given another profile. A profile
says which `response_format` types the server refuses and with what error, whether it
honours, ignores or refuses `stream_options`, and whether its streams report usage at all.
Each refusal is the server's own answer, byte for byte where it is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.emulators.script import HttpError

StreamOptions = Literal["honoured", "ignored", "refused"]

# llama-cpp-python's server (llama_cpp/server): its request model types `response_format`
# as llama_types.ChatCompletionRequestResponseFormat, whose `type` is Literal["text",
# "json_object"]. FastAPI's validation error is then caught by the server's RouteErrorHandler
# (server/errors.py), which answers every exception it does not recognise with HTTP 500,
# type internal_server_error and str(exc) as the message: FastAPI's rendering of the
# pydantic errors, "loc" starting at the body.
LLAMA_CPP_PYTHON_JSON_SCHEMA_REFUSAL = HttpError(
    500,
    body={
        "error": {
            "message": (
                "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', "
                "'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
                "'ctx': {'expected': \"'text' or 'json_object'\"}}"
            ),
            "type": "internal_server_error",
            "param": None,
            "code": None,
        }
    },
)

# LM Studio's server takes `response_format` of type json_schema or text only; its error
# body is a bare string under "error".
LM_STUDIO_JSON_OBJECT_REFUSAL = HttpError(
    400, body={"error": "'response_format.type' must be 'json_schema' or 'text'"}
)

# A FastAPI server whose request model forbids unknown fields (pydantic extra="forbid")
# and keeps FastAPI's own 422 body: {"detail": [errors]}.
FORBIDDEN_STREAM_OPTIONS_REFUSAL = HttpError(
    422,
    body={
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "stream_options"],
                "msg": "Extra inputs are not permitted",
                "input": {"include_usage": True},
            }
        ]
    },
)


@dataclass(frozen=True)
class Profile:
    """What an OpenAI-compatible server makes of the optional parts of a chat request.

    refused_formats: `response_format.type` -> the error the server answers it with.
    stream_options: "honoured" (a usage chunk when include_usage asks for one), "ignored"
        (never a usage chunk, no error) or "refused" (`stream_options_refusal`).
    """

    name: str
    refused_formats: Mapping[str, HttpError] = field(default_factory=dict)
    stream_options: StreamOptions = "honoured"
    stream_options_refusal: HttpError = FORBIDDEN_STREAM_OPTIONS_REFUSAL

    def refusal(self, body: Mapping[str, Any]) -> HttpError | None:
        """The error this server answers a chat request with, if it refuses one of its parts."""
        response_format = body.get("response_format")
        if isinstance(response_format, Mapping):
            refused = self.refused_formats.get(str(response_format.get("type")))
            if refused is not None:
                return refused
        if "stream_options" in body and self.stream_options == "refused":
            return self.stream_options_refusal
        return None

    def usage_streamed(self, body: Mapping[str, Any]) -> bool:
        """Whether a stream answering `body` ends with a usage chunk."""
        options = body.get("stream_options")
        requested = isinstance(options, Mapping) and options.get("include_usage") is True
        return requested and self.stream_options == "honoured"


OPENAI = Profile("openai")

# llama-cpp-python 0.3's server. It refuses a json_schema response_format (with HTTP 500,
# above) and takes json_object. It does NOT refuse `stream_options`: its request model
# (server/types.py CreateChatCompletionRequest) leaves pydantic's default extra="ignore",
# so the field is dropped unread, and its streamed chunks never carry usage.
LLAMA_CPP_PYTHON = Profile(
    "llama-cpp-python",
    refused_formats={"json_schema": LLAMA_CPP_PYTHON_JSON_SCHEMA_REFUSAL},
    stream_options="ignored",
)

# LM Studio: json_schema or text, never json_object.
LM_STUDIO = Profile("lm-studio", refused_formats={"json_object": LM_STUDIO_JSON_OBJECT_REFUSAL})

PROFILES = {profile.name: profile for profile in (OPENAI, LLAMA_CPP_PYTHON, LM_STUDIO)}
