"""Direct assignment in bulk: an administrator assigns one access package to every user of a
CSV file (Entra's portal cannot). What a row carries, what became of it, the file. Pure.

The file: one user column, the user named by email, user principal name or object id
(`UserPrincipalName`, `Email`, `User`, `ObjectId`, and Entra's headings of those, such as a
user export's `id`, `userPrincipalName` and `mail`: when a file has several, a row's user is
the first given of object id, user principal name, email, user), and an optional `End` column
(ISO 8601 with a time zone) that overrides the run's end for that row.

A file without a user column cannot be read at all (`AssignmentCsvError`). Every other problem
belongs to its row, reported `invalid` with the reason, never stopping the others: a missing
user, a malformed end, a missing or extra value, the same user twice. Whether the user may
have the package (in the directory, the end within the policy, separation of duties, the
invitation domains) is decided on the worker by the rules of every direct assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from entitlements.base import parse_moment
from entitlements.bulk_rows import (
    Compact,
    PageProgress,
    RowCounts,
    clipped,
    content_id,
    report_text,
)
from entitlements.csv_table import CsvFileError, CsvRow, read_csv_table, split_rows
from entitlements.identifiers import check_person
from entitlements.refusals import RequestRefused, Rule


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"  # a direct assignment started: delivery goes on in its own workflow
    ALREADY_ASSIGNED = "alreadyAssigned"  # the user holds it, or has an open request for it
    REFUSED = "refused"  # a rule refused it (unknown user, end past the policy's, ...)
    INVALID = "invalid"  # the row itself is wrong (no user, a malformed end, a duplicate)
    FAILED = "failed"  # the directory could not be asked in time


class AssignmentRow(Compact):
    user: str  # email, user principal name or object id, as written
    line: int = 0
    end: AwareDatetime | None = None  # this row's end (None: the run's)

    @property
    def key(self) -> str:
        return self.user.strip().lower()


class AssignmentResult(Compact):
    """What became of one row (one row of the report)."""

    user: str
    status: AssignmentStatus
    line: int = 0
    request_id: str | None = None  # the assignment's request (accessctl status REQUEST_ID)
    rule: Rule | None = None
    error: str | None = None

    @property
    def key(self) -> str:
        return self.user.strip().lower()

    @property
    def ok(self) -> bool:
        return self.status in (AssignmentStatus.ASSIGNED, AssignmentStatus.ALREADY_ASSIGNED)


def row_error(
    row: AssignmentRow, status: AssignmentStatus, error: str, rule: Rule | None = None
) -> AssignmentResult:
    return AssignmentResult(
        user=row.user, line=row.line, status=status, rule=rule, error=clipped(error)
    )


class AssignmentCounts(RowCounts):
    assigned: int = 0
    already_assigned: int = 0
    refused: int = 0
    invalid: int = 0
    failed: int = 0


class BulkAssignmentInput(BaseModel):
    """A bulk run's input, and what each continue-as-new carries on: only the rows not yet
    done, and compact results (a user with a result is never assigned again)."""

    package_id: str
    admin: str  # the administrator assigning (checked before any row)
    policy_id: str | None = None  # needed when the package has several policies
    end: AwareDatetime | None = None  # for rows without an end of their own
    rows: list[AssignmentRow]  # still to do, in file order
    results: list[AssignmentResult] = []  # done (the workflow keys them by user)
    rejected: list[AssignmentResult] = []  # invalid before any call (by line)
    total: int = 0  # rows in the file (0: len(rows) + len(rejected))
    source: str = ""  # the file name, for people
    admin_checked: bool = False  # the first run checked the administrator; later ones need not
    page: int = 1  # the page this run works on
    page_size: int = Field(default=100, ge=1, le=200)
    concurrency: int = Field(default=10, ge=1, le=50)


class BulkAssignmentProgress(AssignmentCounts, PageProgress):
    pass


class BulkAssignmentResult(AssignmentCounts):
    rows: list[AssignmentResult] = []  # every row of the file, in file order
    # The whole run refused before any row (not an administrator, an unknown package or
    # policy): nothing was assigned, and `rows` is empty.
    refusal_rule: Rule | None = None
    refusal: str | None = None


def bulk_workflow_id(inp: BulkAssignmentInput) -> str:
    """Same package, administrator, options and rows: the same run."""
    run = inp.model_copy(update={"rows": [], "rejected": [], "source": ""})
    return content_id("assignments", [run, *inp.rows, *inp.rejected])


# ------------------------------------------------------------------------------------- CSV
class AssignmentCsvError(ValueError):
    """The file as a whole cannot be read (no user column, no header)."""


# Lowercase spellings of each column (an Entra heading's bracketed property name will do).
_COLUMNS = {
    "object_id": ("objectid", "object id", "id", "user object id"),
    "user_principal_name": ("userprincipalname", "user principal name", "upn", "user name"),
    "email": ("email", "mail", "email address", "e-mail"),
    "user": ("user",),
    "end": ("end", "enddatetime", "end date time", "expiration", "expirationdatetime"),
}
_USER_COLUMNS = ("object_id", "user_principal_name", "email", "user")  # a row's user: first given


@dataclass
class ParsedAssignments:
    rows: list[AssignmentRow] = field(default_factory=list)  # valid rows, in file order
    rejected: list[AssignmentResult] = field(default_factory=list)  # invalid rows
    ignored_columns: list[str] = field(default_factory=list)  # headings read as nothing

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejected)

    def bulk_input(self, package_id: str, admin: str, **options) -> BulkAssignmentInput:
        return BulkAssignmentInput(
            package_id=package_id,
            admin=admin,
            rows=self.rows,
            rejected=self.rejected,
            total=self.total,
            **options,
        )


def parse_assignment_csv(text: str) -> ParsedAssignments:
    """Every row of a direct-assignment CSV: valid rows to assign, invalid rows with why."""
    try:
        table = read_csv_table(text, _COLUMNS)
    except CsvFileError as error:
        raise AssignmentCsvError(str(error)) from None
    user_columns = [name for name in _USER_COLUMNS if name in table.fields]
    if not user_columns:
        raise AssignmentCsvError(
            f"line {table.line}: no user column: expected UserPrincipalName, Email, User or "
            f"ObjectId, found {table.found()}"
        )
    headings = " or ".join(table.heading(c) for c in user_columns)

    def user_of(record: CsvRow) -> str:
        return next((record.values[c] for c in user_columns if record.values.get(c)), "")

    def row_of(record: CsvRow) -> tuple[AssignmentRow | None, str | None]:
        if not (user := user_of(record)):
            return None, f"missing user ({headings})"
        return _row(user, record.values.get("end", ""), record.line)

    rows, rejected = split_rows(
        table,
        row_of,
        lambda record, problem: AssignmentResult(
            user=user_of(record), line=record.line, status=AssignmentStatus.INVALID, error=problem
        ),
    )
    return ParsedAssignments(rows, rejected, table.ignored_columns)


def _row(user: str, end_text: str, line: int) -> tuple[AssignmentRow | None, str | None]:
    try:
        user = check_person("the user", user)
    except RequestRefused as refusal:
        return None, refusal.message
    end = None
    if end_text:
        try:
            end = parse_moment(end_text)
        except ValueError as error:
            return None, f"end {error}"
    return AssignmentRow(user=user, line=line, end=end), None


REPORT_COLUMNS = ["line", "user", "status", "requestId", "error"]


def assignment_report_csv(rows: list[AssignmentResult]) -> str:
    """The per-row report: line, user, status, the request id or the error."""
    return report_text(REPORT_COLUMNS, rows, who="user", ref="request_id")
