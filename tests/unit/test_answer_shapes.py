"""Answers and errors in the shapes gateways send, read from a real HTTP server.

Mistral answers FIM and chat with ``choices[0].message.content`` (``delta.content`` when
streamed); LiteLLM's ``text-completion-codestral`` and OpenAI-style gateways use
``choices[0].text``; usage-only chunks carry ``"choices": []``; error bodies come in every
nesting. The fake sends those bytes as they are (``Error(200, body=bytes)``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from codestral_ls.endpoint import Endpoint
from codestral_ls.mistral_api import ApiError, ErrorKind, FimRequest, MistralClient
from tests.fake_mistral import Error, FakeMistral

SSE = {"Content-Type": "text/event-stream"}


@pytest_asyncio.fixture
async def client(fake: FakeMistral) -> AsyncIterator[MistralClient]:
    started = MistralClient(Endpoint(fake.base_url, "test-key", "test"))
    yield started
    await started.aclose()


def request() -> FimRequest:
    return FimRequest(model="codestral-latest", prompt="def add(a, b):\n    ", suffix="\n")


def sse(*chunks: dict[str, Any]) -> bytes:
    events = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return events + b"data: [DONE]\n\n"


def text_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "object": "text_completion",
        "choices": [{"index": 0, "text": text, "finish_reason": finish}],
    }


def delta_chunk(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


USAGE_ONLY = {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}}


async def test_streamed_openai_style_text_chunks_are_read(
    fake: FakeMistral, client: MistralClient
) -> None:
    fake.script(
        Error(200, body=sse(text_chunk("return "), text_chunk("a + b", "stop")), headers=SSE)
    )
    result = await client.fim(request(), stream=True)
    assert (result.text, result.finish_reason) == ("return a + b", "stop")


async def test_an_empty_choices_chunk_is_skipped_not_fatal(
    fake: FakeMistral, client: MistralClient
) -> None:
    """A keep-alive or usage-only chunk (OpenAI's include_usage) mid-stream or at the end."""
    body = sse(delta_chunk("return "), {"choices": []}, delta_chunk("a + b"), USAGE_ONLY)
    fake.script(Error(200, body=body, headers=SSE))
    result = await client.fim(request(), stream=True)
    assert result.text == "return a + b"
    assert result.usage == USAGE_ONLY["usage"]


async def test_non_streamed_text_and_content_parts_are_read(
    fake: FakeMistral, client: MistralClient
) -> None:
    fake.script(
        Error(200, body=text_chunk("return a + b", "stop")),
        Error(
            200,
            body={
                "choices": [
                    {
                        "message": {
                            "content": [
                                {"type": "text", "text": "return "},
                                {"type": "text", "text": "a + b"},
                            ]
                        }
                    }
                ]
            },
        ),
    )
    assert (await client.fim(request(), stream=False)).text == "return a + b"
    assert (await client.fim(request(), stream=False)).text == "return a + b"


async def test_chat_reads_text_chunks_and_skips_empty_ones(
    fake: FakeMistral, client: MistralClient
) -> None:
    fake.script(
        Error(
            200, body=sse(text_chunk("Hello"), {"choices": []}, text_chunk(" there")), headers=SSE
        )
    )
    pieces = [
        p
        async for p in client.chat_stream(
            [{"role": "user", "content": "hi"}], model="codestral-latest"
        )
    ]
    assert "".join(pieces) == "Hello there"


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        # Mistral's own shapes
        (
            {"object": "error", "message": "Unauthorized", "type": "invalid_request_error"},
            "Unauthorized",
        ),
        (
            {"detail": [{"loc": ["body", "max_tokens"], "msg": "must be > 0", "type": "x"}]},
            "must be > 0 (body.max_tokens)",
        ),
        (
            {"message": {"detail": [{"loc": ["body", "model"], "msg": "unknown model"}]}},
            "unknown model (body.model)",
        ),
        # OpenAI / LiteLLM: nested under "error", sometimes with the upstream's JSON as text
        (
            {"error": {"message": "litellm.RateLimitError: too many", "type": None, "code": "429"}},
            "litellm.RateLimitError: too many",
        ),
        (
            {"error": {"message": json.dumps({"object": "error", "message": "No such model"})}},
            "No such model",
        ),
        ({"error": "Workspace limit reached"}, "Workspace limit reached"),
        ({"errors": [{"message": "first"}, {"message": "second"}]}, "first; second"),
        ([{"message": "a list at the top"}], "a list at the top"),
        # No known key: compact JSON, never Python's dict text
        ({"status": 503, "ok": False}, '{"status":503,"ok":false}'),
        ("Service\n  Unavailable", "Service Unavailable"),
    ],
)
async def test_error_bodies_of_any_shape_become_one_readable_sentence(
    fake: FakeMistral, client: MistralClient, body: Any, sentence: str
) -> None:
    fake.script(Error(503, body=body))
    with pytest.raises(ApiError) as caught:
        await client.fim(request(), stream=False)
    assert caught.value.kind is ErrorKind.SERVER
    assert str(caught.value) == f"HTTP 503: {sentence}"
    assert "'" not in str(caught.value) and "\n" not in str(caught.value)


async def test_a_huge_error_reason_is_cut_to_one_short_line(
    fake: FakeMistral, client: MistralClient
) -> None:
    fake.script(Error(400, body={"error": {"message": "x " * 5000}}))
    with pytest.raises(ApiError) as caught:
        await client.fim(request(), stream=False)
    assert len(str(caught.value)) < 220
