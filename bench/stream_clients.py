"""The two kinds of client the conversation-streams benchmark runs, and what they record.

A `PageClient` is one conversation page: a WebSocket to daphne that lets the first
question stream, answers it with a chip as the page does, and follows the next question
to its end, noting every frame's arrival, sequence number and tokens. A direct stream is
the official OpenAI SDK reading the same emulator, the baseline for both latencies.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from dataclasses import dataclass, field

import aiohttp

SEQ = re.compile(r'id="conversation-seq" data-seq="(\d+)"')
DELTA = re.compile(r'id="message-(\d+)-live" hx-swap-oob="beforeend">(.*?)</span>', re.S)
TOKEN = re.compile(r" ([cd]\d+s\d+t\d+)")
# A question has finished streaming: its done state replaces the live one.
QUESTION_DONE = 'data-state="done"'
# The last frame of a turn: the composer offers answering again.
READY = 'data-testid="message-form"'
# A notice (to this socket only, or a numbered one to every page): something went wrong.
NOTICE = 'role="status"'
ANSWER = {"action": "answer", "field": "service_type", "value": "vRouter"}


@dataclass
class PageRecord:
    """What one page saw."""

    label: str
    connected_at: float = 0.0
    answered_at: float = 0.0
    seqs: list[int] = field(default_factory=list)
    # (token, arrival) in arrival order, and the text assembled per message id
    tokens: list[tuple[str, float]] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)
    first_token_after_answer: float = 0.0
    first_token_after_connect: float = 0.0
    frames: int = 0
    notices: list[str] = field(default_factory=list)
    error: str = ""
    finished: bool = False


def _read_frame(record: PageRecord, text: str, arrived: float) -> None:
    record.frames += 1
    if match := SEQ.search(text):
        record.seqs.append(int(match.group(1)))
    if NOTICE in text:
        # To this socket only, or to every page of the conversation ("still answering").
        record.notices.append(re.sub(r"<[^>]+>", " ", text).strip())
    for message_id, delta in DELTA.findall(text):
        delta = html.unescape(delta)
        record.texts[int(message_id)] = record.texts.get(int(message_id), "") + delta
        for token in TOKEN.findall(delta):
            record.tokens.append((token, arrived))
            if not record.first_token_after_connect:
                record.first_token_after_connect = arrived
            if record.answered_at and not record.first_token_after_answer:
                record.first_token_after_answer = arrived


async def run_page(
    session: aiohttp.ClientSession,
    url: str,
    origin: str,
    cookie: str,
    record: PageRecord,
    *,
    start_at: float,
    deadline: float,
) -> None:
    """One page: connect at `start_at`, answer the first question, follow the second one;
    gives up at `deadline` (monotonic)."""
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    try:
        async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
            async with session.ws_connect(
                url, headers={"Cookie": cookie, "Origin": origin}, max_msg_size=0, autoping=True
            ) as socket:
                record.connected_at = time.monotonic()
                questions_done = 0
                seen_done = False
                async for message in socket:
                    arrived = time.monotonic()
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    text = str(message.data)
                    _read_frame(record, text, arrived)
                    if QUESTION_DONE in text and 'data-role="assistant"' in text:
                        seen_done = True
                    if seen_done and READY in text:
                        seen_done = False
                        questions_done += 1
                        if questions_done == 1:
                            record.answered_at = time.monotonic()
                            await socket.send_str(json.dumps(ANSWER))
                        else:
                            record.finished = True
                            break
                if not record.finished:
                    record.error = f"socket closed ({socket.close_code}) before the second question ended"
    except TimeoutError:
        record.error = "timed out"
    except aiohttp.ClientError as error:
        record.error = f"{type(error).__name__}: {error}"


@dataclass
class DirectRecord:
    label: str
    started_at: float = 0.0
    first_token: float = 0.0
    tokens: list[tuple[str, float]] = field(default_factory=list)
    error: str = ""


async def run_direct(client: object, record: DirectRecord, *, start_at: float, deadline: float) -> None:
    """One stream read by the official SDK straight from the emulator."""
    import openai

    assert isinstance(client, openai.AsyncOpenAI)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    try:
        async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
            record.started_at = time.monotonic()
            stream = await client.chat.completions.create(
                model="gpt-6-sol",
                messages=[
                    {
                        "role": "system",
                        "content": f"You interview a user about a “Network service {record.label}”.",
                    },
                    {"role": "user", "content": "Ask the next question."},
                ],
                max_tokens=220,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with stream:
                async for chunk in stream:
                    arrived = time.monotonic()
                    for choice in chunk.choices:
                        for token in TOKEN.findall(choice.delta.content or ""):
                            record.tokens.append((token, arrived))
                            if not record.first_token:
                                record.first_token = arrived
    except (TimeoutError, openai.OpenAIError) as error:
        record.error = f"{type(error).__name__}: {error}"
