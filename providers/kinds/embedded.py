"""The embedded provider kind: a GGUF model run inside the process by llama.cpp.

The model (providers/kinds/embedded_model.py) is loaded once per process and shared by
every `EmbeddedKind`. A llama.cpp context is not thread-safe, so generations run one at a
time, in worker threads, each holding the model's lock: the event loop only ever waits for
them.

Generation goes through `Llama.create_completion` on a prompt rendered here with the
model's own chat template, which is what `create_chat_completion` does internally. The
detour exists because only `create_completion` accepts a stopping criterion: llama.cpp
consults it between tokens, and that is how a timeout or a departed stream consumer stops
a generation part-way, and how a stream learns how many tokens it really generated.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from llama_cpp import StoppingCriteriaList
from llama_cpp.llama_types import (
    ChatCompletionRequestMessage,
    CreateCompletionResponse,
    CreateCompletionStreamResponse,
)

from providers.errors import ErrorCode, ProviderError
from providers.interface import Embeddings, KindChunk, KindCompletion, ProviderCall, Usage
from providers.kinds import ProviderConfig
from providers.kinds.embedded_model import (
    LoadedModel,
    ModelSettings,
    chat_model,
    check_model_file,
    embedding_model,
)
from providers.kinds.json_schema_grammar import gbnf_for, grammar_for

log = logging.getLogger(__name__)

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

    config: ModelSettings
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
    if call.tools or any(message.role == "tool" or message.tool_calls for message in call.messages):
        # Routing never sends such a call here (providers/routing.py); refused, not ignored.
        raise ProviderError(ErrorCode.NOT_CAPABLE, "the embedded model cannot call tools")
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
        config=ModelSettings.current(),
        messages=messages,
        max_tokens=call.max_tokens,
        temperature=DEFAULT_TEMPERATURE if call.temperature is None else call.temperature,
        grammar=gbnf_for(call.json_schema) if call.json_schema is not None else None,
    )


def _prompt_for(model: LoadedModel, request: _Request, progress: _Progress) -> _Prompt:
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
    model: LoadedModel, request: _Request, job: _Job, *, stream: bool
) -> tuple[_Prompt, _Progress, Any]:
    """Begin a generation; the caller holds the chat model's lock."""
    progress = _Progress(job)
    prompt = _prompt_for(model, request, progress)
    grammar = grammar_for(model.llama, request.grammar) if request.grammar is not None else None
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
    with _holding(chat_model.lock, job), _llama_errors("generation"):
        model = chat_model.model(request.config)
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
        with _holding(chat_model.lock, job), _llama_errors("generation"):
            model = chat_model.model(request.config)
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


def _embed_blocking(texts: list[str], config: ModelSettings) -> Embeddings:
    with embedding_model.lock, _llama_errors("embedding"):
        llama = embedding_model.model(config).llama
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


def _probe_blocking(config: ModelSettings) -> list[str]:
    check_model_file(config.resolved_path())
    return [config.name]


class EmbeddedKind:
    """The in-process model, behind the same interface as the remote providers.

    Every instance shares the process's one model. A call's `model` chooses nothing, as
    there is nothing else to choose; replies and embeddings name the model actually loaded.
    """

    kind = "embedded"
    # Its chat template renders no tools: routing passes it over for a request that has them.
    carries_tools = False

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    def _own(self, error: ProviderError) -> ProviderError:
        """Name this provider on an error raised below, where only the model is known."""
        error.provider = error.provider or self.config.name
        return error

    def _translate(self, call: ProviderCall) -> _Request:
        """The call as llama.cpp takes it; refused here when it cannot be."""
        try:
            return _request_for(call)
        except ProviderError as error:
            self._own(error)
            raise

    async def complete(self, call: ProviderCall) -> KindCompletion:
        request = self._translate(call)
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
        request = self._translate(call)
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
        config = ModelSettings.current()
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
            return await asyncio.to_thread(_probe_blocking, ModelSettings.current())
        except ProviderError as error:
            self._own(error)
            raise
