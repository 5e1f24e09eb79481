"""Local usage statistics: counting, the file, and the ``codestral-ls stats`` report."""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
from pathlib import Path

import pytest

from codestral_ls import stats_report, usage
from codestral_ls.usage import Counts, UsageRecorder
from tests.tools import HANG

NOON = 1_764_590_400.0  # 2025-12-01T12:00:00Z


def recorder(tmp_path: Path, now: list[float]) -> UsageRecorder:
    return UsageRecorder(tmp_path / "usage.jsonl", clock=lambda: now[0])


def test_a_suggestion_typed_through_counts_once_as_shown_and_once_as_typed_over(tmp_path):
    rec = recorder(tmp_path, [NOON])
    same = usage.suggestion_id("file:///a.py", 3, "    ret", "urn a + b")
    assert same == usage.suggestion_id("file:///a.py", 3, "    return", " a + b")
    rec.shown("python", same, typed_since=False)
    for _ in range(3):  # VS Code asks again on every keystroke through the suggestion
        rec.shown("python", same, typed_since=True)
    assert (rec.totals.shown, rec.totals.typed_over) == (1, 1)


def test_a_suggestion_taken_in_pieces_counts_as_one_accept(tmp_path):
    rec = recorder(tmp_path, [NOON])
    sid = usage.suggestion_id("file:///a.py", 0, "x = ", "1")
    rec.shown("python", sid, typed_since=False)
    rec.accepted("python", sid, partly=True)
    rec.shown("python", sid, typed_since=True)  # the rest, served after the partial accept
    rec.accepted("python", sid, partly=True)
    rec.accepted("python", sid, partly=False)
    totals = rec.totals
    assert (totals.shown, totals.accepted, totals.accepted_partly, totals.typed_over) == (
        1,
        1,
        1,
        0,
    )


def test_flush_appends_deltas_per_hour_and_language_and_read_sums_them(tmp_path):
    now = [NOON]
    rec = recorder(tmp_path, now)
    rec.call("python", 1000, 20)
    rec.shown("python", "a", typed_since=False)
    rec.flush()
    rec.call("python", 500, 10)
    rec.call("go", 100, 5)
    now[0] += 3600
    rec.call("go", 100, 5)
    rec.flush()
    rec.flush()  # nothing new: nothing written
    lines = (tmp_path / "usage.jsonl").read_text().splitlines()
    assert len(lines) == 4
    totals = usage.read(tmp_path / "usage.jsonl")
    assert totals[("2025-12-01T12", "python")] == Counts(
        shown=1, calls=2, prompt_tokens=1500, completion_tokens=30
    )
    assert totals[("2025-12-01T13", "go")].calls == 1


def test_a_damaged_file_loses_its_bad_lines_only(tmp_path):
    path = tmp_path / "usage.jsonl"
    good = {"hour": "2025-12-01T12", "language": "python", "calls": 2, "shown": -5}
    path.write_text("not json\n" + json.dumps(good) + '\n[1, 2]\n{"hour": 3}\n')
    assert usage.read(path) == {("2025-12-01T12", "python"): Counts(calls=2)}


def test_compaction_merges_lines_and_drops_old_hours(tmp_path):
    path = tmp_path / "usage.jsonl"
    old = NOON - (usage.KEEP_DAYS + 1) * 86400
    lines = [{"hour": usage.hour_of(old), "language": "c", "calls": 1}]
    lines += [{"hour": "2025-12-01T12", "language": "python", "calls": 1}] * 50
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    usage.compact(path, now=NOON)
    assert path.read_text().splitlines() == [
        json.dumps({"hour": "2025-12-01T12", "language": "python", **vars(Counts(calls=50))})
    ]


def test_flush_compacts_a_large_file(tmp_path, monkeypatch):
    monkeypatch.setattr(usage, "COMPACT_BYTES", 200)
    rec = recorder(tmp_path, [NOON])
    for _ in range(10):
        rec.call("python", 1, 1)
        rec.flush()
    assert len((tmp_path / "usage.jsonl").read_text().splitlines()) == 1
    assert usage.read(tmp_path / "usage.jsonl")[("2025-12-01T12", "python")].calls == 10


def test_an_unwritable_place_costs_the_statistics_not_an_exception(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    rec = UsageRecorder(blocker / "usage.jsonl", clock=lambda: NOON)
    rec.call("python", 1, 1)
    rec.flush()  # the parent is a file: mkdir fails, nothing raises


def test_the_usage_file_is_in_the_state_folder_or_nowhere():
    assert usage.usage_file({"CODESTRAL_LS_STATE_DIR": "/x"}) == Path("/x/usage.jsonl")
    assert usage.usage_file({"HOME": "no-home"}) is None  # counted in memory only


def test_stats_without_a_home_directory_asks_for_the_file(capsys, monkeypatch):
    monkeypatch.delenv("CODESTRAL_LS_STATE_DIR", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", "not-absolute")
    assert stats_report.run_stats(args(None)) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--file" in err


def args(
    path: Path | None,
    plot: Path | None = None,
    prompt_price: float | None = None,
    completion_price: float | None = None,
) -> argparse.Namespace:
    """What ``codestral-ls stats`` parses; a price left out comes from the environment or
    the default, as on the command line."""
    return argparse.Namespace(
        file=path, prompt_price=prompt_price, completion_price=completion_price, plot=plot
    )


def only_line(err: str) -> str:
    """The one line a stats failure prints on stderr."""
    [line] = err.splitlines()
    assert line.startswith("codestral-ls stats: ") and "Traceback" not in line, line
    return line


def test_a_usage_file_that_cannot_be_read_is_named_in_one_line(tmp_path, capsys, monkeypatch):
    """A folder, a missing ``--file`` (a typo) or a file without read permission: no
    traceback, no report of zeros that looks real, but the file and the problem, exit 2."""
    locked = tmp_path / "locked.jsonl"
    locked.write_text("")

    def refuse(path: object, *args: object, **kwargs: object) -> int:
        if Path(path) == locked:  # as for a user without read permission (tests may run as root)
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    real_open = os.open
    monkeypatch.setattr(os, "open", refuse)
    for path, problem in (
        (tmp_path, "Is a directory"),
        (tmp_path / "usage.jsonl.typo", "there is no such file"),
        (locked, "Permission denied"),
    ):
        assert stats_report.run_stats(args(path), now=NOON) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert only_line(err).endswith(f"cannot read {path}: {problem}")


def test_a_device_a_pipe_or_a_huge_file_is_refused_without_reading_it_all(
    tmp_path, capsys, monkeypatch
):
    """``--file /dev/zero`` read until memory ran out; a FIFO would wait for a writer at
    open; a file larger than any usage file is not read past the cap."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.jsonl"
    line = json.dumps({"hour": usage.hour_of(NOON), "language": "go", "shown": 1}) + "\n"
    huge.write_text(line * 100)
    monkeypatch.setattr(usage, "MAX_READ_BYTES", len(line) * 99)
    for path, problem in (
        (Path("/dev/zero"), "not a regular file"),
        (fifo, "not a regular file"),
        (huge, "larger than any usage file"),
    ):
        assert stats_report.run_stats(args(path), now=NOON) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert only_line(err).startswith(f"codestral-ls stats: cannot read {path}: "), err
        assert problem in err
    # A file over the cap by its size is refused without being read.
    sparse = tmp_path / "sparse.jsonl"
    with sparse.open("wb") as handle:
        handle.truncate(len(line) * 200)
    assert stats_report.run_stats(args(sparse), now=NOON) == 2
    assert "larger than any usage file" in only_line(capsys.readouterr().err)
    # The server's own compaction reads through the same cap: it logs, never raises.
    recorder = UsageRecorder(huge, clock=lambda: NOON)
    recorder.call("go", 1, 1)
    monkeypatch.setattr(usage, "COMPACT_BYTES", 10)
    recorder.flush()
    assert huge.read_text().count("\n") == 101  # appended, not compacted


def test_a_usage_path_that_is_a_pipe_or_too_deep_never_hangs_or_raises(tmp_path, caplog):
    """A FIFO where the usage file goes: opening it to append waited for a reader, and the
    server's shutdown (which writes the counts) never answered. A line of 2,000 "[" made
    json.loads raise RecursionError, which neither ``stats`` nor ``flush`` caught."""
    caplog.set_level(logging.INFO, logger="codestral_ls.usage")
    fifo = tmp_path / "usage.jsonl"
    os.mkfifo(fifo)
    recorder = UsageRecorder(fifo, clock=lambda: NOON)
    recorder.call("go", 1, 1)
    flushing = threading.Thread(target=recorder.flush, daemon=True)
    flushing.start()
    flushing.join(HANG)
    assert not flushing.is_alive(), "flush waited on the FIFO"
    assert "not written" in caplog.text
    deep = tmp_path / "deep.jsonl"
    record = json.dumps({"hour": usage.hour_of(NOON), "language": "go", "shown": 2})
    deep.write_text("[" * 2000 + "\n" + record + "\n")
    assert usage.read(deep) == {(usage.hour_of(NOON), "go"): Counts(shown=2)}
    recorder = UsageRecorder(deep, clock=lambda: NOON)
    recorder.call("go", 1, 1)
    usage.compact(deep, now=NOON)  # reads it back whole
    assert "[[[" not in deep.read_text()


def test_a_file_that_is_not_a_usage_file_is_refused(tmp_path, capsys):
    garbage = tmp_path / "photo.jpg"
    garbage.write_bytes(bytes(range(256)) * 4)
    assert stats_report.run_stats(args(garbage), now=NOON) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"{garbage} is not a usage file" in only_line(err)
    # A usage file with a half-written line (a server that died mid-write) is still read.
    usage_lines = tmp_path / "usage.jsonl"
    record = {"hour": usage.hour_of(NOON), "language": "go", "shown": 3}
    usage_lines.write_text(json.dumps(record) + '\n{"hour": "2025-12-01T1')
    assert stats_report.run_stats(args(usage_lines), now=NOON) == 0
    out, err = capsys.readouterr()
    assert err == "" and any(line.split()[:2] == ["go", "3"] for line in out.splitlines())


def test_before_the_first_use_the_report_is_empty_and_says_why(tmp_path, capsys, monkeypatch):
    """The default file does not exist until the server counts something: a new install
    gets its (empty) report, and a line saying nothing was recorded yet."""
    monkeypatch.setenv("CODESTRAL_LS_STATE_DIR", str(tmp_path))
    assert stats_report.run_stats(args(None), now=NOON) == 0
    out, err = capsys.readouterr()
    assert "Last 7 days:" in out
    assert "nothing recorded yet" in only_line(err) and str(tmp_path / "usage.jsonl") in err


def test_report_prints_a_day_and_a_week_with_rates_and_cost(tmp_path, capsys):
    path = tmp_path / "usage.jsonl"
    rec = UsageRecorder(path, clock=lambda: NOON - 3 * 86400)
    rec.shown("go", "old", typed_since=False)
    rec.flush()
    rec = UsageRecorder(path, clock=lambda: NOON)
    for sid in "abcd":
        rec.shown("python", sid, typed_since=False)
    rec.accepted("python", "a", partly=False)
    rec.accepted("python", "b", partly=True)
    rec.shown("python", "c", typed_since=True)
    rec.call("python", 1_000_000, 100_000)
    rec.flush()
    assert stats_report.run_stats(args(path), now=NOON + 60) == 0
    out = capsys.readouterr().out
    day, week = out.split("Last 7 days:")
    assert "go" not in day and "go" in week
    python_row = next(line for line in day.splitlines() if line.startswith("python"))
    expected = "python 4 2 1 1 50% 1 1,000,000 100,000 0.3900"
    assert python_row.split() == expected.split()


def test_plot_draws_a_png(tmp_path):
    path = tmp_path / "usage.jsonl"
    rec = UsageRecorder(path, clock=lambda: NOON)
    rec.shown("python", "a", typed_since=False)
    rec.accepted("python", "a", partly=False)
    rec.call("python", 10, 10)
    rec.flush()
    png = tmp_path / "chart.png"
    assert stats_report.run_stats(args(path, plot=png), now=NOON) == 0
    assert png.read_bytes().startswith(b"\x89PNG")


def test_stats_refuses_a_negative_or_meaningless_price(capsys):
    from codestral_ls.cli import main

    for flag, value in (("--prompt-price", "-1"), ("--completion-price", "nan")):
        with pytest.raises(SystemExit) as stopped:
            main(["stats", "--file", "/dev/null", flag, value])
        assert stopped.value.code == 2  # argparse's status for a bad argument
        out, err = capsys.readouterr()
        assert out == ""
        assert f"argument {flag}: wants USD per million tokens, a number 0 or more" in err
    assert stats_report.price("0") == 0.0  # a free self-hosted model is a price
    assert str(stats_report.price("-0")) == "0.0"  # not a "-0.0000" cost
    with pytest.raises(argparse.ArgumentTypeError):
        stats_report.price("0_30")  # Python reads 30.0: a typo of 0.30


def test_a_price_variable_that_is_no_price_is_an_error_naming_it(tmp_path, capsys, monkeypatch):
    """A typo in CODESTRAL_PRICE_PROMPT fell back to Mistral's price without a word: the
    report's cost looked like the user's own."""
    path = tmp_path / "usage.jsonl"
    path.write_text("")
    monkeypatch.setenv("CODESTRAL_PRICE_PROMPT", "0,30")
    assert stats_report.run_stats(args(path), now=NOON) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert only_line(err) == (
        "codestral-ls stats: CODESTRAL_PRICE_PROMPT wants USD per million tokens, a number "
        "0 or more, not '0,30'"
    )
    # A price on the command line wins over the variable; a valid variable is used.
    assert stats_report.run_stats(args(path, prompt_price=1.0), now=NOON) == 0
    monkeypatch.setenv("CODESTRAL_PRICE_PROMPT", " 2 ")
    monkeypatch.setenv("CODESTRAL_PRICE_COMPLETION", "0")
    rec = UsageRecorder(path, clock=lambda: NOON)
    rec.call("python", 1_000_000, 1_000_000)
    rec.flush()
    capsys.readouterr()
    assert stats_report.run_stats(args(path), now=NOON + 60) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("python"))
    assert row.split()[-1] == "2.0000"


def test_a_chart_named_as_a_folder_is_refused_not_written_beside_it(tmp_path, capsys):
    """``--plot /tmp`` wrote /tmp.png (matplotlib adds the suffix to a name without one)."""
    path = tmp_path / "usage.jsonl"
    path.write_text("")
    folder = tmp_path / "charts"
    folder.mkdir()
    assert stats_report.run_stats(args(path, plot=folder), now=NOON) == 2
    assert f"cannot write {folder}: it is a folder" in only_line(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["charts", "usage.jsonl"]


def test_a_chart_name_that_is_not_a_png_is_refused_before_the_report(tmp_path, capsys):
    """matplotlib picks the format from the name: "chart" became chart.png while the report
    said "Chart written to chart", and "chart.txt" was a traceback after the report."""
    path = tmp_path / "usage.jsonl"
    path.write_text("")
    for name in ("chart", "chart.txt", "week.2026-12"):
        assert stats_report.run_stats(args(path, plot=tmp_path / name), now=NOON) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert "--plot draws a PNG; name a file ending in .png" in only_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usage.jsonl"]


def test_a_chart_that_cannot_be_written_is_one_line(tmp_path, capsys):
    path = tmp_path / "usage.jsonl"
    path.write_text("")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert stats_report.run_stats(args(path, plot=blocker / "chart.png"), now=NOON) == 2
    assert f"cannot write {blocker / 'chart.png'}" in only_line(capsys.readouterr().err)
