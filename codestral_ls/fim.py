"""What a fill-in-the-middle call asks for, and its JSON body.

Apart from the HTTP client (``mistral_api.py``) so that the cache keys requests without
depending on httpx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FimRequest:
    """The fields of ``POST /fim/completions`` we use (the API rejects unknown fields)."""

    model: str
    prompt: str
    suffix: str
    max_tokens: int | None = None
    min_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    random_seed: int | None = None

    def body(self, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": sendable(self.prompt),
            "suffix": sendable(self.suffix),
            "stream": stream,
        }
        optional = {
            "max_tokens": self.max_tokens,
            "min_tokens": self.min_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "random_seed": self.random_seed,
            "stop": list(self.stop) or None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body


def sendable(text: str) -> str:
    """``text`` as UTF-8 can carry it: lone surrogates (which JSON text may hold, and so an
    editor's document) become U+FFFD instead of failing the whole request."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
