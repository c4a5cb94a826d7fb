"""Rendering and sending the product's mail through Graph sendMail."""

from __future__ import annotations

from html import escape

from temporalio import activity

from activities.directory import DirectoryActivities
from activities.directory_models import SendMailInput
from entitlements.notifications import Notification, NotificationKind
from workflows.activity_calls import SEND_NOTIFICATION

SUBJECTS = {
    NotificationKind.APPROVAL_REQUIRED: "Action required: approve or deny a request for {package}",
    NotificationKind.ESCALATED: "Forwarded to you: a request for {package} is waiting",
    NotificationKind.APPROVED: "Approved: {target}'s request for {package}",
    NotificationKind.DENIED: "Denied: {target}'s request for {package}",
    NotificationKind.TIMED_OUT: "Expired without a decision: {target}'s request for {package}",
    NotificationKind.CANCELED: "Canceled: {target}'s request for {package}",
    NotificationKind.DELIVERED: "You now have access to {package}",
    NotificationKind.DELIVERY_FAILED: "Access to {package} could not be delivered",
    NotificationKind.EXPIRY_REMINDER: "Your access to {package} ends on {end}",
    NotificationKind.EXTENDED: "Extended: {target}'s access to {package}, now until {end}",
    NotificationKind.ACCESS_ENDED: "Your access to {package} has ended",
    NotificationKind.REVIEW_STARTED: "Access review: who should keep access to {package}?",
    NotificationKind.REVIEW_REMINDER: "Reminder: your access review of {package} ends on {end}",
}
REVIEW_KINDS = (NotificationKind.REVIEW_STARTED, NotificationKind.REVIEW_REMINDER)


def render(note: Notification) -> tuple[str, str]:
    """Subject and HTML body: what happened, the facts a reader needs, and what to do."""
    if note.kind in REVIEW_KINDS:
        return render_review(note)
    facts = {
        "package": note.package,
        "target": note.target.label(),
        "end": note.end.strftime("%Y-%m-%d %H:%M UTC") if note.end else "",
    }
    subject = SUBJECTS[note.kind].format(**facts)
    rows = [("Request", note.request_id), ("Access package", note.package)]
    rows.append(("For", note.target.label()))
    if note.requestor.key != note.target.key:
        rows.append(("Requested by", note.requestor.label()))
    if note.justification:
        rows.append(("Justification", note.justification))
    rows += [(f"Answer: {question}", answer) for question, answer in note.answers.items()]
    if note.stage:
        rows.append(("Stage", f"{note.stage} of {note.stages}"))
    if note.deadline and note.kind in (
        NotificationKind.APPROVAL_REQUIRED,
        NotificationKind.ESCALATED,
    ):
        rows.append(("Decide before", note.deadline.strftime("%Y-%m-%d %H:%M UTC")))
    if note.decided_by:
        rows.append(("Decided by", note.decided_by))
    if note.decision_justification:
        rows.append(("Approver's justification", note.decision_justification))
    if note.end and note.kind in (
        NotificationKind.DELIVERED,
        NotificationKind.EXPIRY_REMINDER,
        NotificationKind.EXTENDED,
    ):
        rows.append(("Access ends", facts["end"]))
    if note.detail:
        rows.append(("Detail", note.detail))
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    body = f"<p>{escape(subject)}.</p><table>{table}</table><p>{escape(next_step(note))}</p>"
    return subject, body


def render_review(note: Notification) -> tuple[str, str]:
    """Review mail: one mail for every reviewer, about the whole review (`request_id` is the
    review's id, `deadline` its end, `detail` what there is to review)."""
    end = note.deadline.strftime("%Y-%m-%d %H:%M UTC") if note.deadline else ""
    subject = SUBJECTS[note.kind].format(package=note.package, end=end)
    rows = [("Review", note.request_id), ("Access package", note.package)]
    if note.detail:
        rows.append(("To review", note.detail))
    if end:
        rows.append(("Decide before", end))
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    step = (
        f"See what waits for you: accessctl review list --reviewer YOU; decide each with: "
        f"accessctl review decide {note.request_id} USER approve|deny --as YOU. "
        "Unreviewed access follows the policy when the review ends."
    )
    body = f"<p>{escape(subject)}</p><table>{table}</table><p>{escape(step)}</p>"
    return subject, body


def next_step(note: Notification) -> str:
    if note.kind in (NotificationKind.APPROVAL_REQUIRED, NotificationKind.ESCALATED):
        return (
            f"Decide with: accessctl approve {note.request_id} --as YOU "
            f"(or accessctl deny {note.request_id} --as YOU)"
        )
    if note.kind == NotificationKind.EXPIRY_REMINDER:
        return f"To keep access, extend it: accessctl extend {note.request_id} --as YOU"
    return "No action is needed."


class NotificationActivities:
    def __init__(self, directory: DirectoryActivities) -> None:
        self.directory = directory

    def all(self) -> list:
        return [self.send_notification]

    @activity.defn(name=SEND_NOTIFICATION)
    async def send_notification(self, note: Notification) -> None:
        subject, body = render(note)
        recipients = sorted({person.key for person in note.recipients})
        await self.directory.send_mail(
            SendMailInput(sender=note.sender, to=recipients, subject=subject, body=body)
        )
