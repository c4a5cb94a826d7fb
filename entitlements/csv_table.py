"""Reading the CSV files people do bulk work with (invitations, direct assignments). Pure.

UTF-8 text, with or without a byte-order mark; blank lines skipped; Entra's templates put a
`version:v1.0` line before the header and write headings as `<Item name> [propertyName]
Required`: the item name or the bracketed property name is enough. Each row is known by the
line it starts on (a quoted value may span lines), so a report can point at it.

A wrong number of values is the row's problem, never the file's: the caller reports it and
goes on. The file as a whole fails (`CsvFileError`) only when it has no header or two columns
mean the same thing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_BRACKETS = re.compile(r"\[([^\]]*)\]")
_VERSION = re.compile(r"^\s*version\s*:", re.IGNORECASE)


class CsvFileError(ValueError):
    """The file as a whole cannot be read (no header, a column twice)."""


def field_of(heading: str, columns: dict[str, tuple[str, ...]]) -> str | None:
    """The field a heading names (`columns` maps each field to its lowercase spellings)."""
    text = heading.strip().lstrip("\ufeff")
    names = {m.strip().lower() for m in _BRACKETS.findall(text)}
    item = _BRACKETS.sub(" ", text).strip().lower()
    item = re.sub(r"\s+required$", "", item).strip()
    names.add(re.sub(r"\s+", " ", item))
    for name, spellings in columns.items():
        if names & set(spellings):
            return name
    return None


@dataclass
class CsvRow:
    line: int  # the line the row starts on
    values: dict[str, str]  # field -> its value, stripped (the fields the row has cells for)
    problem: str | None = None  # too few or too many values


@dataclass
class CsvTable:
    header: list[str]
    fields: list[str | None]  # the field of each heading (None: not one we read)
    line: int  # the header's line
    rows: list[CsvRow] = field(default_factory=list)

    @property
    def ignored_columns(self) -> list[str]:
        return [h.strip() for h, f in zip(self.header, self.fields, strict=True) if f is None]

    def heading(self, name: str) -> str:
        return self.header[self.fields.index(name)].strip()

    def found(self) -> str:
        return ", ".join(h.strip() for h in self.header)


def read_csv_table(text: str, columns: dict[str, tuple[str, ...]]) -> CsvTable:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    table: CsvTable | None = None
    line = 0  # the line the next record starts on
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if table is None:
            if _VERSION.match(cells[0]):
                continue  # Entra's "version:v1.0" line
            table = CsvTable(cells, [field_of(h, columns) for h in cells], start)
            repeated = {f for f in table.fields if f and table.fields.count(f) > 1}
            if repeated:
                raise CsvFileError(
                    f"line {start}: more than one column for {', '.join(sorted(repeated))}"
                )
            continue
        values = {
            name: cells[i].strip()
            for i, name in enumerate(table.fields)
            if name is not None and i < len(cells)
        }
        table.rows.append(CsvRow(start, values, _count_problem(table.header, cells)))
    if table is None:
        raise CsvFileError("no header line: the file is empty")
    return table


def _count_problem(header: list[str], cells: list[str]) -> str | None:
    if len(cells) < len(header):
        missing = ", ".join(h.strip() for h in header[len(cells) :])
        return f"missing column(s) {missing}: {len(cells)} of {len(header)} values"
    if len(cells) > len(header):
        return f"{len(cells)} values for {len(header)} columns (a comma in an unquoted value?)"
    return None


def split_rows(
    table: CsvTable,
    row_of: Callable[[CsvRow], tuple[Any | None, str | None]],
    rejected: Callable[[CsvRow, str], Any],
) -> tuple[list[Any], list[Any]]:
    """The table's good rows (`row_of`: a row, or the problem with the record) and its bad
    ones (`rejected`: the result reporting a problem), in file order. A row whose `key` came
    before is a duplicate of that line."""
    rows, bad = [], []
    first_line_of: dict[str, int] = {}
    for record in table.rows:
        row, problem = (None, record.problem) if record.problem else row_of(record)
        if row is not None:
            first = first_line_of.setdefault(row.key, record.line)
            if first != record.line:
                row, problem = None, f"duplicate of line {first}"
        if row is None:
            bad.append(rejected(record, problem or "invalid"))
        else:
            rows.append(row)
    return rows, bad
