"""Who may approve: the input of approver resolution, and the eligibility rules for a decision."""

from __future__ import annotations

from pydantic import BaseModel

from entitlements.catalog import ConnectedOrganization
from entitlements.people import Person, matches_any
from entitlements.policy import SubjectSet
from entitlements.refusals import Rule


class ResolveApprovers(BaseModel):
    subjects: list[SubjectSet]
    requestor: Person  # requestorManager is this person's manager (level 1 or 2)
    connected_organization: ConnectedOrganization | None = None  # for sponsors


def decision_refusal(
    approver: str,
    eligible: list[Person],
    requestor: Person,
    target: Person,
    justification: str | None,
    justification_required: bool,
) -> tuple[Rule, str] | None:
    """Why `approver` may not decide now, or None when they may.

    The requestor never approves their own request, even when listed as an approver; nor does
    the person who would receive the access.
    """
    if requestor.matches(approver) or target.matches(approver):
        return Rule.SELF_APPROVAL, f"{approver} cannot decide a request for their own access"
    if matches_any(eligible, approver) is None:
        names = ", ".join(p.key for p in eligible) or "nobody"
        return Rule.NOT_AN_APPROVER, f"{approver} is not an approver of this stage now ({names})"
    if justification_required and not (justification and justification.strip()):
        return Rule.JUSTIFICATION_REQUIRED, "this stage requires a justification from the approver"
    return None
