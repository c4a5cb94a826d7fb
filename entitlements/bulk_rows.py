"""What every bulk run from a CSV file shares (invitations, direct assignments): compact rows
and results, the counts a progress bar shows, the per-row report, and a run's id from its
content. Pure: no I/O, no Temporal.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, model_serializer
from pydantic.alias_generators import to_snake

# Longest error text kept per row: a bulk run carries every row's result through
# continue-as-new, so 5,000 failures must still fit in one payload.
MAX_ERROR_CHARS = 200


class Compact(BaseModel):
    """Serialised without its empty (None) fields: thousands of rows cross Temporal."""

    model_config = ConfigDict(frozen=True)

    @model_serializer(mode="wrap")
    def _without_none(self, handler):
        return {k: v for k, v in handler(self).items() if v is not None}


def clipped(error: str) -> str:
    return error if len(error) <= MAX_ERROR_CHARS else error[: MAX_ERROR_CHARS - 1] + "…"


_NOT_STATUSES = {"total", "done", "page", "pages"}


class RowCounts(BaseModel):
    """How many rows of a file there are and how many are done; a subclass has one field per
    row status (the status's value in snake_case), which `add` counts."""

    total: int = 0
    done: int = 0

    @classmethod
    def of(cls, total: int, statuses: Iterable[StrEnum]):
        counts = cls(total=total)
        for status in statuses:
            counts.add(status)
        return counts

    def add(self, status: StrEnum) -> None:
        self.done += 1
        name = to_snake(status.value)
        setattr(self, name, getattr(self, name) + 1)

    def tally(self) -> str:
        """Each status's count, as people read it: `5 assigned, 1 already assigned, ...`."""
        return ", ".join(
            f"{getattr(self, name):,} {name.replace('_', ' ')}"
            for name, info in type(self).model_fields.items()
            if info.annotation is int and name not in _NOT_STATUSES
        )


class PageProgress(BaseModel):
    """Where a paged run is: the page it works on, of how many; finished once the last ends."""

    page: int = 0
    pages: int = 0
    finished: bool = False


def report_text(columns: Sequence[str], results: Iterable[Any], who: str, ref: str) -> str:
    """A bulk run's per-row report, in file order: line, who (the `who` field), status, the
    `ref` field (what the row became) or the error, the rule that refused it first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for r in sorted(results, key=lambda r: r.line):
        error = f"[{r.rule.value}] {r.error}" if r.rule and r.error else r.error
        writer.writerow(
            [r.line, getattr(r, who), r.status.value, getattr(r, ref) or "", error or ""]
        )
    return out.getvalue()


def content_id(prefix: str, parts: Iterable[BaseModel]) -> str:
    """Same content, same id: running a file again while it runs joins that run."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.model_dump_json().encode())
    return f"{prefix}:{digest.hexdigest()[:20]}"
