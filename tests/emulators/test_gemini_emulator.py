"""The Gemini and Voyage emulators on the wire, as plain HTTP: what the SDK-driven suites
(tests/providers/test_gemini_kind.py, test_voyage_kind.py) do not reach."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.emulators import DropAfter, EmulatorServer, ErrorAfter, HttpError, Reply

KEY_HEADER = {"x-goog-api-key": "AIza-test"}
HELLO = {"contents": [{"role": "user", "parts": [{"text": "Say hello"}]}]}


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=5) as client:
        yield client


def generate(
    http: httpx2.Client, emulator: EmulatorServer, body: Any, method: str = "generateContent"
) -> Any:
    return http.post(
        f"{emulator.base_url}/v1beta/models/gemini-2.5-flash:{method}", json=body, headers=KEY_HEADER
    )


def sse_chunks(text: str) -> list[Any]:
    return [json.loads(line[len("data: ") :]) for line in text.split("\r\n\r\n") if line.startswith("data: ")]


def test_a_reply_carries_candidates_usage_and_the_model(
    http: httpx2.Client, gemini_emulator: EmulatorServer
) -> None:
    gemini_emulator.push(Reply("Hello there", input_tokens=5, output_tokens=2))
    reply = generate(http, gemini_emulator, HELLO).json()
    [candidate] = reply["candidates"]
    assert candidate["content"] == {"parts": [{"text": "Hello there"}], "role": "model"}
    assert candidate["finishReason"] == "STOP"
    assert reply["usageMetadata"]["promptTokenCount"] == 5
    assert reply["usageMetadata"]["candidatesTokenCount"] == 2
    assert reply["modelVersion"] == "gemini-2.5-flash"


def test_the_key_may_come_in_the_query(http: httpx2.Client, gemini_emulator: EmulatorServer) -> None:
    url = f"{gemini_emulator.base_url}/v1/models/gemini-2.5-flash:generateContent?key=AIza-query"
    assert http.post(url, json=HELLO).status_code == 200
    assert gemini_emulator.last_request.api_key == "AIza-query"
    missing = http.post(url.partition("?")[0], json=HELLO)
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({**HELLO, "max_tokens": 5}, 'Unknown name "max_tokens"'),
        ({**HELLO, "generationConfig": {"max_tokens": 5}}, "at 'generation_config'"),
        ({"contents": []}, "contents is not specified"),
        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "valid role: user, model"),
    ],
    ids=["unknown-field", "unknown-generation-field", "no-contents", "openai-role"],
)
def test_bodies_are_checked_as_google_checks_them(
    http: httpx2.Client, gemini_emulator: EmulatorServer, body: Any, words: str
) -> None:
    response = generate(http, gemini_emulator, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert words in error["message"]


def test_a_stream_is_sse_frames_with_the_usage_so_far(
    http: httpx2.Client, gemini_emulator: EmulatorServer
) -> None:
    gemini_emulator.push(Reply("one two three", input_tokens=4))
    response = http.post(
        f"{gemini_emulator.base_url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        json=HELLO,
        headers=KEY_HEADER,
    )
    chunks = sse_chunks(response.text)
    assert [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks] == [
        "one",
        " two",
        " three",
        "",
    ]
    assert all(c["usageMetadata"]["promptTokenCount"] == 4 for c in chunks)
    assert "candidatesTokenCount" not in chunks[0]["usageMetadata"]
    assert chunks[-1]["usageMetadata"]["candidatesTokenCount"] == 3
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert len({c["responseId"] for c in chunks}) == 1


def test_without_alt_sse_a_stream_is_one_json_array(
    http: httpx2.Client, gemini_emulator: EmulatorServer
) -> None:
    gemini_emulator.push(Reply("one two"))
    chunks = generate(http, gemini_emulator, HELLO, "streamGenerateContent").json()
    assert isinstance(chunks, list)
    assert len(chunks) == 3


def test_an_in_stream_error_is_an_error_frame(http: httpx2.Client, gemini_emulator: EmulatorServer) -> None:
    gemini_emulator.push(Reply("a b c", fault=ErrorAfter(1, error_type="UNAVAILABLE")))
    url = f"{gemini_emulator.base_url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    chunks = sse_chunks(http.post(url, json=HELLO, headers=KEY_HEADER).text)
    assert chunks[-1] == {
        "error": {
            "code": 503,
            "message": "The model is overloaded. Please try again later.",
            "status": "UNAVAILABLE",
        }
    }


def test_a_cut_stream_has_no_finishing_frame(http: httpx2.Client, gemini_emulator: EmulatorServer) -> None:
    gemini_emulator.push(Reply("a b c d", fault=DropAfter(2)))
    url = f"{gemini_emulator.base_url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    received: list[bytes] = []

    def read() -> None:
        with http.stream("POST", url, json=HELLO, headers=KEY_HEADER) as response:
            received.extend(response.iter_bytes())

    with pytest.raises(httpx2.TransportError):
        read()
    assert b"finishReason" not in b"".join(received)
    assert len(sse_chunks(b"".join(received).decode())) == 2


def test_a_429_says_its_wait_in_retry_info_not_a_header(
    http: httpx2.Client, gemini_emulator: EmulatorServer
) -> None:
    gemini_emulator.push(HttpError(429, retry_after_ms=1500))
    response = generate(http, gemini_emulator, HELLO)
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    [retry] = response.json()["error"]["details"]
    assert retry == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.500s"}


def test_a_wrong_key_is_a_400_naming_the_reason(http: httpx2.Client, gemini_emulator: EmulatorServer) -> None:
    gemini_emulator.reject_key("AIza-test")
    error = generate(http, gemini_emulator, HELLO).json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


def test_unknown_paths_get_googles_html_404(http: httpx2.Client, gemini_emulator: EmulatorServer) -> None:
    response = http.post(f"{gemini_emulator.base_url}/v1/chat/completions", json=HELLO, headers=KEY_HEADER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_models_are_paged(http: httpx2.Client, gemini_emulator: EmulatorServer) -> None:
    first = http.get(f"{gemini_emulator.base_url}/v1beta/models?pageSize=2", headers=KEY_HEADER).json()
    assert [m["name"] for m in first["models"]] == ["models/gemini-2.5-pro", "models/gemini-2.5-flash"]
    rest = http.get(
        f"{gemini_emulator.base_url}/v1beta/models?pageSize=10&pageToken={first['nextPageToken']}",
        headers=KEY_HEADER,
    ).json()
    assert "nextPageToken" not in rest
    assert "models/gemini-embedding-001" in [m["name"] for m in rest["models"]]


def test_batch_embeddings_must_name_the_urls_model(
    http: httpx2.Client, gemini_emulator: EmulatorServer
) -> None:
    url = f"{gemini_emulator.base_url}/v1beta/models/text-embedding-004:batchEmbedContents"
    request = {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "x"}]}}
    response = http.post(url, json={"requests": [request]}, headers=KEY_HEADER)
    assert response.status_code == 400
    single = http.post(
        url.replace("batchEmbedContents", "embedContent"),
        json={"content": request["content"]},
        headers=KEY_HEADER,
    )
    assert len(single.json()["embedding"]["values"]) == 768


def test_voyage_refuses_what_voyage_refuses(http: httpx2.Client, voyage_emulator: EmulatorServer) -> None:
    url = f"{voyage_emulator.base_url}/embeddings"
    auth = {"authorization": "Bearer pa-test"}
    unknown_model = http.post(url, json={"input": ["x"], "model": "voyage-9"}, headers=auth)
    assert unknown_model.status_code == 400
    assert "not supported" in unknown_model.json()["detail"]
    assert http.post(url, json={"input": ["x"], "model": "voyage-3.5"}).status_code == 401
    typed = http.post(url, json={"input": "x", "model": "voyage-3.5", "input_type": "query"}, headers=auth)
    plain = http.post(url, json={"input": "x", "model": "voyage-3.5"}, headers=auth)
    assert typed.json()["data"][0]["embedding"] != plain.json()["data"][0]["embedding"]
    assert http.post(f"{voyage_emulator.base_url}/models", headers=auth).status_code == 404
