"""Every message popped up is one line of at most 100 characters (issue 11, item 2).

Neovim shows ``window/showMessage`` in its command line: a longer message (150-220 characters
before) raised the "Press ENTER" prompt, which ate the user's next keystroke. The details go to
the log (``window/logMessage``) and ``:checkhealth codestral``.
"""

from __future__ import annotations

import pytest

from codestral_ls.actions.catalog import ACTIONS
from codestral_ls.endpoint import Endpoint
from codestral_ls.health import explain
from codestral_ls.messages import SUMMARY_CHARS, Notice, clip
from codestral_ls.mistral_api import ApiError, ErrorKind

LONG_HOST = "https://llm-gateway.internal.some-very-large-company.example.com:8443/mistral/eu/v1"
ENDPOINTS = [
    Endpoint("https://codestral.mistral.ai/v1", "k", "CODESTRAL_API_KEY"),
    Endpoint(LONG_HOST, None, "none", withheld="CODESTRAL_API_KEY"),
    Endpoint(LONG_HOST, "k", "the selfHostedApiKey setting"),
]
ERRORS = [
    ApiError(ErrorKind.AUTH, "HTTP 401: Unauthorized", status=401),
    ApiError(ErrorKind.RATE_LIMITED, "HTTP 429: " + "slow down " * 20, status=429),
    ApiError(ErrorKind.SERVER, "HTTP 503: Service Unavailable", status=503),
    ApiError(ErrorKind.NOT_FOUND, "HTTP 404: no such model", status=404),
    ApiError(ErrorKind.NOT_FOUND, "HTTP 307: the API redirects to evil.example", status=307),
    ApiError(ErrorKind.NOT_FOUND, "HTTP 404", status=404, missing_route="/fim/completions"),
    ApiError(ErrorKind.INVALID, "HTTP 422: " + "x" * 300, status=422),
    ApiError(ErrorKind.INVALID, "HTTP 400: " + "y " * 99, status=400, reason="y " * 99),
    ApiError(ErrorKind.TIMEOUT, "the API stopped answering (read timeout)"),
    ApiError(ErrorKind.NETWORK, "could not connect to the API (connection refused)"),
    ApiError(ErrorKind.BAD_RESPONSE, "the API answered with malformed JSON"),
]
TITLES = [None, *(spec.title for spec in ACTIONS.values())]


def fits(text: str) -> bool:
    return "\n" not in text and "\r" not in text and len(text) <= SUMMARY_CHARS


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.base_url[:30])
@pytest.mark.parametrize("error", ERRORS, ids=lambda e: f"{e.kind.value}-{e.status}")
def test_every_outage_message_fits_one_line(error: ApiError, endpoint: Endpoint) -> None:
    for title in TITLES:
        notice = explain(error, endpoint, action=title)
        assert fits(notice.summary), notice.summary
        assert notice.shown() == notice.summary
        assert notice.detail, "what to do goes to the log"
        if title:
            assert notice.summary.startswith(f"{title} failed.")


def test_the_detail_says_what_the_summary_leaves_out() -> None:
    notice = explain(ERRORS[8], ENDPOINTS[1])
    assert "read timeout" in notice.detail and "HTTPS_PROXY" in notice.detail
    assert "llm-gateway" in notice.summary
    assert notice.logged().startswith(notice.summary)
    assert "HTTPS_PROXY" in notice.logged()


@pytest.mark.parametrize(
    "text",
    [
        "short and sweet",
        "First sentence is short. " + "Second sentence is long " * 10,
        "no sentence break at all " * 10,
        "several\nlines\nof text " * 20,
        "x" * 500,
    ],
)
def test_free_text_becomes_one_short_line_and_keeps_the_rest(text: str) -> None:
    notice = Notice.of(text)
    assert fits(notice.summary) and fits(notice.shown())
    assert " ".join(text.split()) in (notice.summary, notice.detail)


def test_clip_cuts_at_a_word() -> None:
    assert clip("a" * 60 + " " + "b" * 60) == "a" * 60 + "…"
    assert clip("short") == "short"


def test_action_refusals_fit_too() -> None:
    from codestral_ls.actions.service import _edited_meanwhile, _stale

    for spec in ACTIONS.values():
        for notice in (_stale(spec), _edited_meanwhile(spec)):
            assert fits(notice.summary) and notice.shown() == notice.summary, notice


def test_an_action_refused_for_what_it_sent_says_the_apis_reason() -> None:
    """A 400/422 is about what was sent: the API's reason is what the user can act on."""
    reason = "Invalid model: codestral-2599"
    error = ApiError(ErrorKind.INVALID, f"HTTP 400: {reason}.", status=400, reason=reason + ".")
    notice = explain(error, ENDPOINTS[0], action="Codestral: Explain")
    assert notice.summary == f"Codestral: Explain failed. Refused (HTTP 400): {reason}."
    assert reason in notice.detail
    long = ApiError(ErrorKind.INVALID, "HTTP 422", status=422, reason="z" * 200)
    summary = explain(long, ENDPOINTS[0], action="Codestral: Reply").summary
    assert summary.startswith("Codestral: Reply failed. Refused (HTTP 422): zzz") and fits(summary)
    # Completions keep their sentence (and what to do); without a reason, so do actions.
    assert "refused the request" in explain(error, ENDPOINTS[0]).summary
    bare = ApiError(ErrorKind.INVALID, "HTTP 400", status=400)
    assert "refused the request" in explain(bare, ENDPOINTS[0], action="Codestral: Explain").summary
