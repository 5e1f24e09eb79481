"""Percentiles and the result table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def p50_95_99(values: Sequence[float]) -> tuple[float, float, float]:
    return percentile(values, 50), percentile(values, 95), percentile(values, 99)


@dataclass
class Row:
    """One line of the table: a figure, its value(s), its target and whether it is met."""

    section: str
    figure: str
    value: str
    target: str = ""
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "**no**", None: ""}[self.met]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def dist_ms(values: Sequence[float]) -> str:
    """``p50 / p95 / p99`` in milliseconds."""
    a, b, c = p50_95_99(values)
    return f"{ms(a)} / {ms(b)} / {ms(c)} ms"


def render(rows: Sequence[Row]) -> str:
    """A Markdown table (readable in a terminal too)."""
    lines = [
        "| section | figure | measured | target | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row.section} | {row.figure} | {row.value} | {row.target} | {row.verdict} |"
        )
    return "\n".join(lines)
