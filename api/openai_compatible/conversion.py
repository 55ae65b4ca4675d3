"""OpenAI's Chat Completions and Embeddings bodies to the gateway's types, and back.

What the gateway cannot do is refused here, before any call, with the parameter named
(`unsupported_parameter`): several choices, stop sequences, log probabilities, audio,
non-text content, and the deprecated `functions` / `function_call` / `function` messages
(their replacement, `tools`, is taken: api.openai_compatible.tool_calling). A client that
relies on one of them must learn it from a 400, never from a reply that silently ignored it.
"""

from __future__ import annotations

import base64
import math
import struct
import time
from typing import Any

from api.errors import OPENAI_TYPES, ApiProblem
from api.gateway_models import AUTO, ListedModel, ModelChoice
from api.models import ApiKey
from api.openai_compatible.schemas import ChatCompletionRequest, ChatMessage
from api.openai_compatible.tool_calling import assistant_calls, gateway_tools, tool_calls_body, tool_result
from providers.interface import Completion, EmbeddingResult, GatewayRequest, Message, Task

# OpenAI's default is "as much as the model allows", which the gateway cannot know for
# every model; this fits the output window of every model it routes to, and the quota's
# worst-case reservation is made from it.
DEFAULT_MAX_TOKENS = 4096

# The finish reasons OpenAI's clients know; the gateway's kinds already speak them.
FINISH_REASONS = frozenset({"stop", "length", "content_filter", "tool_calls"})

DEPRECATED_FUNCTIONS = (
    "'{param}' is OpenAI's deprecated form of tool calling, which SCE does not take: "
    "send 'tools' (and 'tool_choice'; results as 'tool' messages) instead."
)

# Models whose vectors may be shortened by cutting and renormalizing them: OpenAI's
# text-embedding-3 family was trained for it, and its `dimensions` parameter does the same.
SHORTENABLE_EMBEDDINGS = ("text-embedding-3-",)


def unsupported(param: str, message: str) -> ApiProblem:
    return ApiProblem(400, "unsupported_parameter", message, param=param)


def refuse_unsupported(payload: ChatCompletionRequest) -> None:
    """Refuse, naming the parameter, what the gateway cannot honour."""
    if payload.functions:
        raise unsupported("functions", DEPRECATED_FUNCTIONS.format(param="functions"))
    if payload.function_call not in (None, "none"):
        raise unsupported("function_call", DEPRECATED_FUNCTIONS.format(param="function_call"))
    if payload.n not in (None, 1):
        raise unsupported("n", "SCE answers with one choice: 'n' must be 1.")
    if payload.stop:
        raise unsupported(
            "stop", "SCE's gateway does not take stop sequences: send the request without 'stop'."
        )
    if payload.logprobs or payload.top_logprobs:
        param = "logprobs" if payload.logprobs else "top_logprobs"
        raise unsupported(param, "SCE's gateway does not return log probabilities.")
    if payload.audio is not None or (payload.modalities and set(payload.modalities) != {"text"}):
        param = "audio" if payload.audio is not None else "modalities"
        raise unsupported(param, "SCE's gateway answers with text only.")
    if payload.prediction is not None:
        raise unsupported("prediction", "SCE's gateway does not take predicted outputs.")


def _text_of(message: ChatMessage, index: int) -> str:
    """The message's text: its string, or its text parts joined; other parts are refused.
    An assistant message that calls tools may have none."""
    field = f"messages.{index}"
    content = message.content
    if content is None:
        if message.tool_calls:
            return ""
        raise ApiProblem(400, "invalid_request", f"{field}.content is required.", param=f"{field}.content")
    if isinstance(content, str):
        return content
    texts = []
    for number, part in enumerate(content):
        if part["type"] != "text":
            raise ApiProblem(
                400,
                "unsupported_content",
                f"{field}.content.{number} is a {part['type']!r} part; SCE's gateway takes text parts only.",
                param=f"{field}.content.{number}.type",
            )
        texts.append(part["text"])
    return "\n".join(texts)


def _refuse_legacy_functions(message: ChatMessage, index: int) -> None:
    if message.role == "function":
        raise unsupported(f"messages.{index}.role", DEPRECATED_FUNCTIONS.format(param="function' message"))
    if message.function_call is not None:
        param = f"messages.{index}.function_call"
        raise unsupported(param, DEPRECATED_FUNCTIONS.format(param="function_call"))
    if message.tool_calls and message.role != "assistant":
        param = f"messages.{index}.tool_calls"
        raise ApiProblem(400, "invalid_value", "Only assistant messages carry tool_calls.", param=param)


def _conversation(payload: ChatCompletionRequest) -> tuple[list[str], list[Message]]:
    """The system prompt's parts and the turns: system and developer messages go to the
    first, in order; a `tool` message must answer a call an earlier assistant message made."""
    system: list[str] = []
    messages: list[Message] = []
    asked: set[str] = set()
    for index, message in enumerate(payload.messages):
        _refuse_legacy_functions(message, index)
        text = _text_of(message, index)
        if message.role in ("system", "developer"):
            system.append(text)
        elif message.role == "tool":
            messages.append(tool_result(message, index, text, asked))
        elif message.role == "assistant":
            calls = assistant_calls(message)
            asked.update(call.id for call in calls)
            messages.append(Message("assistant", text, tool_calls=calls))
        else:
            messages.append(Message("user", text))
    return system, messages


def gateway_request(
    payload: ChatCompletionRequest, *, choice: ModelChoice, key: ApiKey, request_id: str = ""
) -> GatewayRequest:
    """The gateway request for a chat completion; system and developer messages become its
    system prompt, in order (`request_id`: the call's, api.request_ids; empty: the gateway
    makes one). Call `refuse_unsupported` first."""
    system, messages = _conversation(payload)
    if not messages:
        raise ApiProblem(
            400, "invalid_request", "messages needs a user message besides system ones.", param="messages"
        )
    tools, tool_choice = gateway_tools(payload)
    schema: dict[str, Any] | None = None
    schema_name = "response"
    response_format = payload.response_format
    # A json_schema format always has its `format` (ResponseFormat's validator sees to it).
    if (
        response_format is not None
        and response_format.format is not None
        and response_format.type == "json_schema"
    ):
        schema = dict(response_format.format.schema_document) or {"type": "object"}
        schema_name = response_format.format.name
    elif response_format is not None and response_format.type == "json_object":
        # Any JSON object: the kinds ask their provider for JSON with this loosest schema.
        schema, schema_name = {"type": "object"}, "json_object"
    return GatewayRequest(
        task=Task.API,
        messages=tuple(messages),
        tenant_id=key.tenant_id,
        system="\n\n".join(system),
        provider=choice.provider,
        model=choice.model,
        max_tokens=payload.max_completion_tokens or payload.max_tokens or DEFAULT_MAX_TOKENS,
        temperature=payload.temperature,
        json_schema=schema,
        json_schema_name=schema_name,
        links={"api_key": key.prefix},
        tools=tools,
        tool_choice=tool_choice,
        request_id=request_id,
    )


def chat_id(request_id: str) -> str:
    """A reply's `id`: the gateway's request id, which its log row carries, under OpenAI's prefix."""
    return f"chatcmpl-{request_id}"


def finish_reason(reason: str, *, called_tools: bool = False) -> str:
    """OpenAI's finish reason for the gateway's; a reply that calls tools says `tool_calls`
    even where its provider said it simply stopped."""
    known = reason if reason in FINISH_REASONS else "stop"
    return "tool_calls" if called_tools and known == "stop" else known


def usage_body(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


def completion_body(completion: Completion) -> dict[str, Any]:
    """A whole reply in OpenAI's `chat.completion` shape; `content` is null when the reply
    only calls tools, as OpenAI sends it."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": completion.text if completion.text or not completion.tool_calls else None,
        "refusal": None,
    }
    if completion.tool_calls:
        message["tool_calls"] = tool_calls_body(completion.tool_calls)
    return {
        "id": chat_id(completion.request_id),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": completion.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(
                    completion.finish_reason, called_tools=bool(completion.tool_calls)
                ),
            }
        ],
        "usage": usage_body(completion.usage.input_tokens, completion.usage.output_tokens),
        "system_fingerprint": None,
    }


def error_body(problem: ApiProblem) -> dict[str, Any]:
    """`problem` as OpenAI's error object (what api.errors answers before a stream began)."""
    return {
        "error": {
            "message": problem.message,
            "type": problem.error_type or OPENAI_TYPES.get(problem.status, "api_error"),
            "param": problem.param,
            "code": problem.code,
        }
    }


def model_body(model: ListedModel) -> dict[str, Any]:
    """A listed name as OpenAI's `model` object. `created` is 0: SCE does not know when a
    provider made its model."""
    return {"id": model.id, "object": "model", "created": 0, "owned_by": model.provider}


def chosen_model_body(choice: ModelChoice, listed: list[ListedModel]) -> dict[str, Any]:
    """The `model` object of a name `resolve` accepted but the list does not show (a bare
    model name, or another model of a listed provider)."""
    owner = choice.provider or (listed[0].provider if listed else AUTO)
    return {"id": choice.name, "object": "model", "created": 0, "owned_by": owner}


def _shortenable(model: str) -> bool:
    return model.startswith(SHORTENABLE_EMBEDDINGS)


def check_dimensions(dimensions: int | None, model: str | None) -> None:
    """Refuse `dimensions` before any call when the named model cannot be shortened."""
    if dimensions is not None and model is not None and not _shortenable(model):
        raise unsupported(
            "dimensions", f"The model {model!r} has vectors of a fixed size: send no 'dimensions'."
        )


def _shortened(vector: list[float], dimensions: int) -> list[float]:
    cut = vector[:dimensions]
    norm = math.sqrt(sum(value * value for value in cut)) or 1.0
    return [value / norm for value in cut]


def _base64(vector: list[float]) -> str:
    """Little-endian float32, base64: what OpenAI sends and its clients decode."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def embeddings_body(
    result: EmbeddingResult, *, encoding_format: str, dimensions: int | None
) -> dict[str, Any]:
    """The gateway's vectors in OpenAI's `list` of `embedding`s, shortened to `dimensions`
    where the model allows it (400 otherwise)."""
    vectors = result.vectors
    if dimensions is not None:
        if not _shortenable(result.model):
            raise unsupported(
                "dimensions", f"The model {result.model!r} has vectors of a fixed size: send no 'dimensions'."
            )
        size = min((len(vector) for vector in vectors), default=0)
        if dimensions > size:
            message = f"dimensions must be at most {size} for {result.model!r}."
            raise ApiProblem(400, "invalid_value", message, param="dimensions")
        vectors = [_shortened(vector, dimensions) for vector in vectors]
    encode = _base64 if encoding_format == "base64" else list
    tokens = result.usage.input_tokens
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": encode(vector)}
            for index, vector in enumerate(vectors)
        ],
        "model": result.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
