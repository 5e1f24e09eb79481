"""``codestral-ls stats``: the local usage statistics as a table, and optionally a chart.

Reads the file :mod:`codestral_ls.usage` writes; never touches the network. The cost is an
estimate from the tokens counted and a price per million tokens (defaults: Mistral's
published Codestral prices, USD 0.30 in and 0.90 out; set yours with ``--prompt-price`` and
``--completion-price``, or ``CODESTRAL_PRICE_PROMPT`` / ``CODESTRAL_PRICE_COMPLETION``).
A price set in one of those variables is checked like one given on the command line: a typo
in it is an error that names the variable, not a report at a price nobody chose.
``--plot FILE`` draws the acceptance rate and calls per hour with matplotlib, an optional
extra (``pip install 'codestral-ls[plot]'``).

Exit status: 0 with the report on stdout; 2 when there is nothing to report from (a
``--file`` that is missing, a folder, unreadable or not a usage file; no home directory to
find the default one in; ``--plot`` without matplotlib), with one line on stderr saying so.
Before the server first writes the default file, the report is all zeros and a line on
stderr says nothing was recorded yet: that is the state of a new install, not a mistake.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codestral_ls.usage import Counts, hour_of, parse, read_text, usage_file

DEFAULT_PROMPT_PRICE = 0.30
DEFAULT_COMPLETION_PRICE = 0.90
PROMPT_PRICE_VARIABLE = "CODESTRAL_PRICE_PROMPT"
COMPLETION_PRICE_VARIABLE = "CODESTRAL_PRICE_COMPLETION"


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    prompt: float
    completion: float

    def cost(self, counts: Counts) -> float:
        return (
            counts.prompt_tokens * self.prompt + counts.completion_tokens * self.completion
        ) / 1_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file", type=Path, default=None, help=f"the usage file (default: {usage_file()})"
    )
    parser.add_argument(
        "--prompt-price",
        type=price,
        default=None,
        help=f"USD per million prompt tokens (default: ${PROMPT_PRICE_VARIABLE}, else "
        f"{DEFAULT_PROMPT_PRICE})",
    )
    parser.add_argument(
        "--completion-price",
        type=price,
        default=None,
        help=f"USD per million completion tokens (default: ${COMPLETION_PRICE_VARIABLE}, "
        f"else {DEFAULT_COMPLETION_PRICE})",
    )
    parser.add_argument(
        "--plot", type=Path, metavar="PNG", help="also draw the last week per hour into PNG"
    )


def price(text: str) -> float:
    """A price given on the command line: USD per million tokens, 0 (a free self-hosted
    model) or more. A negative or infinite price would print a cost that means nothing."""
    try:
        # "0_30" is a float to Python (30.0): a typo of "0.30" priced 100 times too high.
        value = math.nan if "_" in text else float(text) + 0.0  # + 0.0: no "-0.0000" cost
    except ValueError:
        value = math.nan
    if not (0 <= value < math.inf):
        raise argparse.ArgumentTypeError(
            f"wants USD per million tokens, a number 0 or more, not {text!r}"
        )
    return value


def _price_or_default(given: float | None, variable: str, default: float) -> float:
    """The price given on the command line, else the one in ``variable``, else ``default``.
    A variable that holds no price fails, naming it: falling back to the default, a typo
    (``0,30``) printed a cost at Mistral's list price that looked like the user's own."""
    if given is not None:
        return given
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        return price(text)
    except argparse.ArgumentTypeError as error:
        raise _Failure(f"{variable} {error}") from None


#: The exit status when there is nothing to report from (see the module's docstring).
CANNOT_REPORT = 2


class _Failure(Exception):
    """Why there is no report, in one line for stderr."""


def run_stats(args: argparse.Namespace, *, now: float | None = None) -> int:
    now = time.time() if now is None else now
    try:
        prices = Prices(
            _price_or_default(args.prompt_price, PROMPT_PRICE_VARIABLE, DEFAULT_PROMPT_PRICE),
            _price_or_default(
                args.completion_price, COMPLETION_PRICE_VARIABLE, DEFAULT_COMPLETION_PRICE
            ),
        )
        path, totals = _counts(args.file)
        if args.plot is not None:
            _check_chart_name(args.plot)
    except _Failure as failure:
        print(f"codestral-ls stats: {failure}", file=sys.stderr)
        return CANNOT_REPORT
    print(f"Codestral usage on this machine ({path}); nothing here is ever sent anywhere.")
    for title, hours in (("Last 24 hours", 24), ("Last 7 days", 24 * 7)):
        print()
        print(f"{title}:")
        print(render_table(window(totals, now, hours), prices))
    if args.plot is not None:
        try:
            plot(totals, now, args.plot)
        except ImportError:
            print(
                "codestral-ls stats: --plot needs matplotlib: pip install 'codestral-ls[plot]'",
                file=sys.stderr,
            )
            return CANNOT_REPORT
        except OSError as error:  # a folder that cannot be made, a read-only place
            print(
                f"codestral-ls stats: cannot write {args.plot}: {error.strerror or error}",
                file=sys.stderr,
            )
            return CANNOT_REPORT
        print(f"\nChart written to {args.plot}")
    return 0


def _counts(named: Path | None) -> tuple[Path, dict[tuple[str, str], Counts]]:
    """The usage file to report on and its counts. A file named with ``--file`` must be a
    usage file, since a typo would otherwise print a report of zeros that looks real; the
    default one may not exist yet (nothing recorded so far), and a line on stderr says so."""
    path = named or usage_file()
    if path is None:
        raise _Failure("no home directory to find the usage file in; use --file")
    try:
        text = read_text(path)
    except FileNotFoundError:
        if named is not None:
            raise _Failure(f"cannot read {path}: there is no such file") from None
        print(
            f"codestral-ls stats: nothing recorded yet: {path} does not exist (the server "
            "creates it once it has counted something, unless usageStats is false)",
            file=sys.stderr,
        )
        return path, {}
    except OSError as error:  # a folder, a device, no permission, too large, an I/O error
        raise _Failure(f"cannot read {path}: {error.strerror or error}") from None
    totals = parse(text)
    if not totals and text.strip():
        raise _Failure(f"{path} is not a usage file: none of its lines holds usage counts")
    return path, totals


def _check_chart_name(target: Path) -> None:
    """Refuse a ``--plot`` name that is not a PNG file's, before the report is printed.
    matplotlib picks the format from the name: it saved "/tmp" as "/tmp.png" beside the
    folder named, "chart" as "chart.png" while the report said "chart", and failed with a
    traceback on "chart.txt"."""
    if target.is_dir():
        raise _Failure(f"cannot write {target}: it is a folder; name the PNG file")
    if target.suffix.lower() != ".png":
        raise _Failure(f"cannot write {target}: --plot draws a PNG; name a file ending in .png")


def last_hours(now: float, hours: int) -> list[str]:
    """The UTC hours of the last ``hours`` hours, oldest first, the current one included."""
    return [hour_of(now - 3600 * back) for back in range(hours - 1, -1, -1)]


def window(totals: Mapping[tuple[str, str], Counts], now: float, hours: int) -> dict[str, Counts]:
    """Counts per language over the last ``hours`` hours."""
    wanted = set(last_hours(now, hours))
    out: dict[str, Counts] = {}
    for (hour, language), counts in totals.items():
        if hour in wanted:
            out.setdefault(language, Counts()).add(counts)
    return out


def acceptance(counts: Counts) -> float | None:
    """Share of shown suggestions the user took (whole or in part)."""
    if not counts.shown:
        return None
    return min(1.0, counts.accepted / counts.shown)


_COLUMNS = (
    "language",
    "shown",
    "accepted",
    "in part",
    "typed over",
    "rate",
    "calls",
    "tokens in",
    "tokens out",
    "cost USD",
)


def render_table(per_language: Mapping[str, Counts], prices: Prices) -> str:
    """A plain-text table, one row per language and a total."""
    total = Counts()
    rows = []
    for language in sorted(per_language):
        counts = per_language[language]
        total.add(counts)
        rows.append(_row(language, counts, prices))
    rows.append(_row("total", total, prices))
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(_COLUMNS)]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [list(_COLUMNS), *rows]
    ]
    return "\n".join(lines)


def _row(language: str, counts: Counts, prices: Prices) -> list[str]:
    rate = acceptance(counts)
    return [
        language,
        str(counts.shown),
        str(counts.accepted),
        str(counts.accepted_partly),
        str(counts.typed_over),
        "-" if rate is None else f"{rate:.0%}",
        str(counts.calls),
        f"{counts.prompt_tokens:,}",
        f"{counts.completion_tokens:,}",
        f"{prices.cost(counts):.4f}",
    ]


def plot(totals: Mapping[tuple[str, str], Counts], now: float, target: Path) -> None:
    """Acceptance rate and upstream calls per hour over the last week, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    from matplotlib import pyplot

    hours = last_hours(now, 24 * 7)
    per_hour: dict[str, Counts] = {hour: Counts() for hour in hours}
    for (hour, _language), counts in totals.items():
        if hour in per_hour:
            per_hour[hour].add(counts)
    x = list(range(len(hours)))
    rates = [acceptance(per_hour[hour]) for hour in hours]
    calls = [per_hour[hour].calls for hour in hours]
    figure, (top, bottom) = pyplot.subplots(2, 1, figsize=(9, 5), sharex=True)
    top.plot(
        [i for i, rate in zip(x, rates, strict=True) if rate is not None],
        [rate * 100 for rate in rates if rate is not None],
        marker="o",
        markersize=3,
    )
    top.set_ylabel("accepted %")
    top.set_ylim(0, 100)
    top.set_title("Codestral: acceptance and calls per hour, last 7 days (UTC)")
    bottom.bar(x, calls, width=1.0)
    bottom.set_ylabel("upstream calls")
    ticks = [i for i, hour in enumerate(hours) if hour.endswith("T00")]
    bottom.set_xticks(ticks, [hours[i][5:10] for i in ticks])
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=100, format="png")
    pyplot.close(figure)
