"""What every benchmark hands back: figures as data, and the one table `make bench` prints.

A figure is one row: the metric, our value, the baseline's in the same run (if there is one),
the goal as people read it and whether it is met (None: nothing to meet, only measured).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from activities.log import configure_logging


def quiet_logs() -> None:
    """The figures, not every Graph call, nor each throttled call Temporal retries."""
    configure_logging("console", "ERROR")
    logging.getLogger("temporalio").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Figure:
    metric: str
    ours: float
    unit: str  # "ms", "/s", "MiB", "s", or a count's noun ("events", "calls", "answers")
    baseline: float | None = None
    goal: str = "-"
    met: bool | None = None
    note: str = ""  # printed under the table: what a reader needs to trust or act on the row

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline


def amount(value: float, unit: str) -> str:
    if value != value:  # NaN: nothing was measured
        return "n/a"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit in ("/s", "s"):
        return f"{value:,.1f} {unit}".replace(" /s", "/s")
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    return f"{value:,.0f} {unit}"


def table(figures: list[Figure]) -> str:
    """One markdown table (paste it into the README), notes numbered under it."""
    header = ("metric", "accessctl", "baseline", "ratio", "goal", "met?")
    rows, notes = [], []
    for figure in figures:
        metric = figure.metric
        if figure.note:
            notes.append(figure.note)
            metric += f" [{len(notes)}]"
        ratio = figure.ratio
        rows.append(
            (
                metric,
                amount(figure.ours, figure.unit),
                "-" if figure.baseline is None else amount(figure.baseline, figure.unit),
                "-" if ratio is None else f"{ratio:.3g}x",  # 0.697x, not a 0.70x that misses 0.7
                figure.goal,
                {True: "yes", False: "**no**", None: "-"}[figure.met],
            )
        )
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    out += [""] + [f"[{n}] {text}" for n, text in enumerate(notes, start=1)] if notes else []
    return "\n".join(out)
