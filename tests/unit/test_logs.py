"""Log lines to the editor: scrubbed, and sent after the answer rather than before it."""

from __future__ import annotations

import asyncio
import logging

from codestral_ls.logs import EditorLogHandler, SecretScrubber


def make_logger(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(f"codestral_ls.test.{name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger


async def test_lines_logged_in_the_loop_are_sent_a_moment_later_in_order() -> None:
    sent: list[tuple[int, str]] = []
    logger = make_logger(EditorLogHandler(lambda *line: sent.append(line), delay=0.01), "later")
    logger.info("first")
    logger.warning("second")
    assert sent == []  # not on the way of the answer being computed
    await asyncio.sleep(0.05)
    assert sent == [
        (logging.INFO, "codestral_ls.test.later: first"),
        (logging.WARNING, "codestral_ls.test.later: second"),
    ]


async def test_flush_sends_what_waits_at_once() -> None:
    sent: list[tuple[int, str]] = []
    handler = EditorLogHandler(lambda *line: sent.append(line), delay=60)
    make_logger(handler, "flush").info("bye")
    handler.flush()  # logging.shutdown() does this on exit
    assert [text for _level, text in sent] == ["codestral_ls.test.flush: bye"]


def test_outside_the_loop_lines_go_out_now_and_scrubbed() -> None:
    sent: list[tuple[int, str]] = []
    handler = EditorLogHandler(lambda *line: sent.append(line))
    scrubber = SecretScrubber()
    scrubber.add("sk-very-secret-key")
    handler.addFilter(scrubber)
    make_logger(handler, "now").info("key was sk-very-secret-key")
    assert sent == [(logging.INFO, "codestral_ls.test.now: key was <redacted>")]


def test_a_failing_editor_does_not_break_logging() -> None:
    def gone(_level: int, _text: str) -> None:
        raise BrokenPipeError

    make_logger(EditorLogHandler(gone), "gone").error("still fine")


def test_a_newly_attached_editor_replaces_the_one_before() -> None:
    """One editor per process: servers built one after another in one process (the tests)
    each attached a handler, and every later line went to every dead server as well."""
    from codestral_ls import logs

    logger = logging.getLogger("codestral_ls")
    kept = list(logger.handlers)
    first: list[tuple[int, str]] = []
    second: list[tuple[int, str]] = []
    try:
        logs.attach_editor(EditorLogHandler(lambda *line: first.append(line)))
        logs.attach_editor(EditorLogHandler(lambda *line: second.append(line)))
        logging.getLogger("codestral_ls.test.replaced").warning("to the editor")
        assert [text for _level, text in second] == ["codestral_ls.test.replaced: to the editor"]
        assert first == []
        assert sum(isinstance(h, EditorLogHandler) for h in logger.handlers) == 1
    finally:
        for handler in logger.handlers[:]:
            if handler not in kept:
                logger.removeHandler(handler)
