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

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, model_serializer

from entitlements.base import normalise_email
from entitlements.refusals import Rule

# The activity the invitation workflows call (activities.invitations registers it).
INVITE_EXTERNAL_USER = "invite_external_user"

# Longest error text kept per row: a bulk run carries every row's result through
# continue-as-new, so 5,000 failures must still fit in one payload.
MAX_ERROR_CHARS = 200


class InvitationStatus(StrEnum):
    INVITED = "invited"  # a new guest
    EXISTING = "existing"  # the address already had a user: that user, nothing written
    FAILED = "failed"  # refused (domain lists) or Graph refused it
    INVALID = "invalid"  # the row itself is wrong (address, missing value, duplicate)


class _Compact(BaseModel):
    """Serialised without its empty (None) fields: thousands of rows cross Temporal."""

    model_config = ConfigDict(frozen=True)

    @model_serializer(mode="wrap")
    def _without_none(self, handler):
        return {k: v for k, v in handler(self).items() if v is not None}


class Invitation(_Compact):
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


class InvitationResult(_Compact):
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
    if len(error) > MAX_ERROR_CHARS:
        error = error[: MAX_ERROR_CHARS - 1] + "…"
    return InvitationResult(
        email=invitation.email, line=invitation.line, status=status, rule=rule, error=error
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
class InvitationCounts(BaseModel):
    total: int = 0
    done: int = 0
    invited: int = 0
    existing: int = 0
    failed: int = 0
    invalid: int = 0

    @classmethod
    def of(cls, total: int, results: Iterable[InvitationResult]) -> InvitationCounts:
        counts = cls(total=total)
        for result in results:
            counts.add(result)
        return counts

    def add(self, result: InvitationResult) -> None:
        self.done += 1
        name = result.status.value
        setattr(self, name, getattr(self, name) + 1)


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


class BulkInvitationProgress(InvitationCounts):
    page: int = 0
    pages: int = 0
    finished: bool = False


class BulkInvitationResult(InvitationCounts):
    rows: list[InvitationResult] = []  # every row of the file, in file order


def bulk_workflow_id(inp: BulkInvitationInput) -> str:
    """Same file content, same id: running a file again while it runs joins that run."""
    digest = hashlib.sha256()
    for row in inp.rows:
        digest.update(row.model_dump_json().encode())
    for row in inp.rejected:
        digest.update(row.model_dump_json().encode())
    return f"invitations:{digest.hexdigest()[:20]}"


# ------------------------------------------------------------------------------------- CSV
class InvitationCsvError(ValueError):
    """The file as a whole cannot be read (no email column, no header, not text)."""


# Header names, lowercased with any [PropertyName] and a trailing "Required" removed, and the
# bracketed property names of Entra's template.
_COLUMNS = {
    "email": ("userprincipalname", "email address to invite", "inviteeemail"),
    "display_name": ("displayname", "display name"),
    "redirect_url": ("inviteredirecturl", "redirection url"),
    "send_mail": ("send invitation message (true or false)", "sendemail"),
    "message": ("customized invitation message", "customizedmessagebody"),
}
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
_BRACKETS = re.compile(r"\[([^\]]*)\]")
_VERSION = re.compile(r"^\s*version\s*:", re.IGNORECASE)


def _field_of(heading: str) -> str | None:
    text = heading.strip().lstrip("\ufeff")
    names = {m.strip().lower() for m in _BRACKETS.findall(text)}
    item = _BRACKETS.sub(" ", text).strip().lower()
    item = re.sub(r"\s+required$", "", item).strip()
    names.add(re.sub(r"\s+", " ", item))
    for name, spellings in _COLUMNS.items():
        if names & set(spellings):
            return name
    return None


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
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header: list[str] | None = None
    line = 0  # the line the next record starts on
    parsed = ParsedInvitations()
    first_line_of: dict[str, int] = {}
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            if _VERSION.match(cells[0]):
                continue  # Entra's "version:v1.0" line
            header = cells
            fields = [_field_of(h) for h in header]
            if "email" not in fields:
                raise InvitationCsvError(
                    f"line {start}: no email column: expected UserPrincipalName or 'Email "
                    f"address to invite', found {', '.join(h.strip() for h in header)}"
                )
            repeated = {f for f in fields if f and fields.count(f) > 1}
            if repeated:
                raise InvitationCsvError(
                    f"line {start}: more than one column for {', '.join(sorted(repeated))}"
                )
            parsed.ignored_columns = [
                h.strip() for h, f in zip(header, fields, strict=True) if f is None
            ]
            continue
        row, problem = _row(header, fields, cells, start)
        if problem is None:
            assert row is not None
            first = first_line_of.setdefault(row.key, start)
            if first != start:
                problem = f"duplicate of line {first}"
        if problem is not None:
            at = fields.index("email")
            email = cells[at].strip() if len(cells) > at else ""
            parsed.rejected.append(
                InvitationResult(
                    email=email, line=start, status=InvitationStatus.INVALID, error=problem
                )
            )
        else:
            parsed.rows.append(row)
    if header is None:
        raise InvitationCsvError("no header line: the file is empty")
    return parsed


def _row(
    header: list[str], fields: list[str | None], cells: list[str], line: int
) -> tuple[Invitation | None, str | None]:
    if len(cells) < len(header):
        missing = ", ".join(h.strip() for h in header[len(cells) :])
        return None, f"missing column(s) {missing}: {len(cells)} of {len(header)} values"
    if len(cells) > len(header):
        return None, (
            f"{len(cells)} values for {len(header)} columns (a comma in an unquoted value?)"
        )
    values = {f: cells[i].strip() for i, f in enumerate(fields) if f is not None}
    if not values["email"]:
        return None, f"missing email address ({header[fields.index('email')].strip()})"
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
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in sorted(rows, key=lambda r: r.line):
        error = f"[{row.rule.value}] {row.error}" if row.rule and row.error else row.error
        writer.writerow([row.line, row.email, row.status.value, row.object_id or "", error or ""])
    return out.getvalue()
