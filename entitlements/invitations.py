"""Inviting external users as guests: what one invitation carries, what it became, and the CSV
files people invite in bulk with. Pure: no I/O, no Temporal.

Two CSV layouts are read (UTF-8, with or without a byte-order mark):

- this project's: `UserPrincipalName,DisplayName,InviteRedirectUrl` (UserPrincipalName holds
  the email address to invite);
- Entra's bulk-invite template: a first `version:v1.0` line, then headings written
  `<Item name> [PropertyName] <Required or blank>`, e.g.
  `Email address to invite [inviteeEmail] Required`, `Redirection url [inviteRedirectURL]
  Required`, `Send invitation message (true or false) [sendEmail]`, `Customized invitation
  message [customizedMessageBody]`. The item name or the bracketed property name is enough.

A file without an email column cannot be read at all (`InvitationCsvError`). Every other
problem belongs to its row, which is reported `invalid` with the reason and never stops the
others: a malformed address, a missing or extra value, a duplicate address, a bad URL or
true/false. Whether a domain may be invited is decided on the worker, against the catalog's
current settings (`InvitationSettings.refusal_for`), not here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, Field

from entitlements.base import normalise_email
from entitlements.bulk_rows import (
    Compact,
    PageProgress,
    RowCounts,
    clipped,
    content_id,
    report_text,
)
from entitlements.csv_table import CsvFileError, read_csv_table, split_rows
from entitlements.refusals import Rule

# The activity the invitation workflows call (activities.invitations registers it).
INVITE_EXTERNAL_USER = "invite_external_user"


class InvitationStatus(StrEnum):
    INVITED = "invited"  # a new guest
    EXISTING = "existing"  # the address already had a user: that user, nothing written
    FAILED = "failed"  # refused (domain lists) or Graph refused it
    INVALID = "invalid"  # the row itself is wrong (address, missing value, duplicate)


class Invitation(Compact):
    """One guest to invite: the single command's arguments, or one CSV row."""

    email: str
    line: int = 0  # the CSV line it came from (0: not from a file)
    display_name: str | None = None
    redirect_url: str | None = None  # None: the settings' invitations.inviteRedirectUrl
    send_mail: bool | None = None  # None: the settings' invitations.sendInvitationMessage
    message: str | None = None  # invitedUserMessageInfo.customizedMessageBody

    @property
    def key(self) -> str:
        return normalise_email(self.email)


class InvitationResult(Compact):
    """What became of one invitation (one row of the report)."""

    email: str
    status: InvitationStatus
    line: int = 0
    object_id: str | None = None  # the guest's (or existing user's) object id
    rule: Rule | None = None  # the rule that refused it (invitationDomain, invalidEmail)
    error: str | None = None
    redeem_url: str | None = None  # single invitations only (bulk results drop it)

    @property
    def key(self) -> str:
        return normalise_email(self.email)

    @property
    def ok(self) -> bool:
        return self.status in (InvitationStatus.INVITED, InvitationStatus.EXISTING)


def result_error(
    invitation: Invitation, status: InvitationStatus, error: str, rule: Rule | None = None
) -> InvitationResult:
    return InvitationResult(
        email=invitation.email,
        line=invitation.line,
        status=status,
        rule=rule,
        error=clipped(error),
    )


class InvalidAddress(ValueError):
    pass


def valid_address(raw: str) -> str:
    """The address to invite, lowercased, or InvalidAddress saying what is wrong with it."""
    text = raw.strip()
    if not text:
        raise InvalidAddress("no email address")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidAddress(f"'{text}' is not a valid email address: {error}") from None


def invalid_redirect_url(url: str) -> str | None:
    """Why `url` cannot be an invitation's redirect URL, or None."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return f"'{url}' is not an http(s) URL"
    return None


# ----------------------------------------------------------------------------- bulk runs
class InvitationCounts(RowCounts):
    invited: int = 0
    existing: int = 0
    failed: int = 0
    invalid: int = 0


class BulkInvitationInput(BaseModel):
    """A bulk run's input, and what each continue-as-new carries on: only the rows not yet
    done, and compact results (a row whose address has a result is never invited again).
    5,000 rows fit in one payload at every step, even with every row failed (tested)."""

    rows: list[Invitation]  # still to do, in file order
    results: list[InvitationResult] = []  # done (the workflow keys them by address)
    rejected: list[InvitationResult] = []  # invalid before any call (by line; no address key)
    total: int = 0  # rows in the file (0: len(rows) + len(rejected))
    source: str = ""  # the file name, for people
    page: int = 1  # the page this run works on
    page_size: int = Field(default=100, ge=1, le=200)  # ~5 events a row
    concurrency: int = Field(default=10, ge=1, le=50)


class BulkInvitationProgress(InvitationCounts, PageProgress):
    pass


class BulkInvitationResult(InvitationCounts):
    rows: list[InvitationResult] = []  # every row of the file, in file order


def bulk_workflow_id(inp: BulkInvitationInput) -> str:
    """Same file content, same id: running a file again while it runs joins that run."""
    return content_id("invitations", [*inp.rows, *inp.rejected])


# ------------------------------------------------------------------------------------- CSV
class InvitationCsvError(ValueError):
    """The file as a whole cannot be read (no email column, no header, a column twice)."""


# Header names, lowercased with any [PropertyName] and a trailing "Required" removed, and the
# bracketed property names of Entra's template (entitlements.csv_table reads them).
_COLUMNS = {
    "email": ("userprincipalname", "email address to invite", "inviteeemail"),
    "display_name": ("displayname", "display name"),
    "redirect_url": ("inviteredirecturl", "redirection url"),
    "send_mail": ("send invitation message (true or false)", "sendemail"),
    "message": ("customized invitation message", "customizedmessagebody"),
}
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


@dataclass
class ParsedInvitations:
    rows: list[Invitation] = field(default_factory=list)  # valid rows, in file order
    rejected: list[InvitationResult] = field(default_factory=list)  # invalid rows
    ignored_columns: list[str] = field(default_factory=list)  # headings read as nothing

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejected)

    def bulk_input(self, source: str = "", **options) -> BulkInvitationInput:
        return BulkInvitationInput(
            rows=self.rows, rejected=self.rejected, total=self.total, source=source, **options
        )


def parse_invitation_csv(text: str) -> ParsedInvitations:
    """Every row of an invitation CSV: valid rows to invite, invalid rows with their reason."""
    try:
        table = read_csv_table(text, _COLUMNS)
    except CsvFileError as error:
        raise InvitationCsvError(str(error)) from None
    if "email" not in table.fields:
        raise InvitationCsvError(
            f"line {table.line}: no email column: expected UserPrincipalName or 'Email "
            f"address to invite', found {table.found()}"
        )
    heading = table.heading("email")
    rows, rejected = split_rows(
        table,
        lambda record: _row(heading, record.values, record.line),
        lambda record, problem: InvitationResult(
            email=record.values.get("email", ""),
            line=record.line,
            status=InvitationStatus.INVALID,
            error=problem,
        ),
    )
    return ParsedInvitations(rows, rejected, table.ignored_columns)


def _row(
    email_heading: str, values: dict[str, str], line: int
) -> tuple[Invitation | None, str | None]:
    if not values["email"]:
        return None, f"missing email address ({email_heading})"
    try:
        email = valid_address(values["email"])
    except InvalidAddress as error:
        return None, str(error)
    redirect = values.get("redirect_url") or None
    if redirect and (problem := invalid_redirect_url(redirect)):
        return None, f"redirect URL {problem}"
    send_text = (values.get("send_mail") or "").lower()
    if send_text and send_text not in _TRUE | _FALSE:
        return None, f"send invitation message must be true or false, not '{send_text}'"
    return Invitation(
        email=email,
        line=line,
        display_name=values.get("display_name") or None,
        redirect_url=redirect,
        send_mail=(send_text in _TRUE) if send_text else None,
        message=values.get("message") or None,
    ), None


REPORT_COLUMNS = ["line", "email", "status", "objectId", "error"]


def report_csv(rows: Iterable[InvitationResult]) -> str:
    """The per-row report: line, email, status, the object id or the error."""
    return report_text(REPORT_COLUMNS, rows, who="email", ref="object_id")
