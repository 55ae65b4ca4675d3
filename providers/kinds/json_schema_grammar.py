"""JSON schemas as llama.cpp grammars: sampling under one can only produce matching JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import llama_cpp
from llama_cpp import Llama
from llama_cpp.llama_grammar import LLAMA_GRAMMAR_DEFAULT_ROOT, LlamaGrammar, json_schema_to_gbnf

from providers.errors import ErrorCode, ProviderError

# Keywords that constrain a value. A (sub)schema with none of them, only annotations such as
# `title`, `description` or `default`, accepts any JSON value; llama.cpp's converter refuses
# such a schema ("Unrecognized schema"), so it is given an explicit "any JSON value" first.
_CONSTRAINING = frozenset(
    {"type", "properties", "items", "anyOf", "oneOf", "allOf", "enum", "const", "$ref", "prefixItems",
     "additionalProperties"}
)  # fmt: skip
_ANY_JSON: dict[str, Any] = {
    "anyOf": [{"type": name} for name in ("string", "number", "boolean", "null", "object", "array")]
}
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not")


def constrainable_schema(schema: Any) -> Any:
    """The schema with every annotation-only subschema replaced by an explicit "any JSON value"."""
    if not isinstance(schema, Mapping):
        return schema
    if not _CONSTRAINING & schema.keys():
        return _ANY_JSON
    result = dict(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), Mapping):
            result[key] = {name: constrainable_schema(value) for name, value in schema[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            result[key] = [constrainable_schema(value) for value in schema[key]]
    for key in _SCHEMA_VALUES:
        if isinstance(schema.get(key), Mapping):
            result[key] = constrainable_schema(schema[key])
    return result


def gbnf_for(schema: Mapping[str, Any]) -> str:
    """llama.cpp's grammar for a JSON schema: sampling can then only produce matching JSON."""
    try:
        gbnf: str = json_schema_to_gbnf(json.dumps(constrainable_schema(schema)))
    except Exception as exc:
        raise ProviderError(
            ErrorCode.BAD_REQUEST, f"the embedded model cannot constrain output to this JSON schema: {exc}"
        ) from exc
    return gbnf


def grammar_for(llama: Llama, gbnf: str) -> LlamaGrammar:
    """The grammar ready for sampling on `llama`; BAD_REQUEST when llama.cpp cannot parse it."""
    # A grammar llama.cpp fails to parse is dereferenced anyway when sampling starts, which
    # kills the process; parsing it once here turns that into a refused request.
    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), LLAMA_GRAMMAR_DEFAULT_ROOT.encode())
    if not sampler:
        raise ProviderError(
            ErrorCode.BAD_REQUEST, "llama.cpp cannot parse the grammar made from this JSON schema"
        )
    llama_cpp.llama_sampler_free(sampler)
    return LlamaGrammar.from_string(gbnf, verbose=False)
