"""One approval stage as it runs: who may decide, when it escalates, when silence denies it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from entitlements.approvers import decision_refusal
from entitlements.people import Person
from entitlements.policy import ApprovalStage
from entitlements.refusals import Rule
from entitlements.status import Decision, DecisionKind, StageStatus


class StageRun(BaseModel):
    number: int  # 1-based
    of: int
    settings: ApprovalStage
    started_at: datetime
    primary: list[Person]
    alternates: list[Person] = []  # escalation approvers, once escalated
    escalated: bool = False
    decision: Decision | None = None

    @property
    def escalation_at(self) -> datetime | None:
        if self.settings.is_escalation_enabled and self.settings.duration_before_escalation:
            return self.started_at + self.settings.duration_before_escalation
        return None

    @property
    def denial_at(self) -> datetime:
        return self.started_at + self.settings.duration_before_automatic_denial

    def next_deadline(self) -> datetime:
        """Escalation if it is still to come, else automatic denial."""
        if self.escalation_at is not None and not self.escalated:
            return self.escalation_at
        return self.denial_at

    @property
    def eligible(self) -> list[Person]:
        """Primary approvers can still decide after the request is forwarded to alternates."""
        seen: dict[str, Person] = {}
        for person in [*self.primary, *self.alternates]:
            seen.setdefault(person.key, person)
        return list(seen.values())

    def status(self) -> StageStatus:
        return StageStatus(
            number=self.number,
            of=self.of,
            approvers=self.eligible,
            escalated=self.escalated,
            escalation_at=self.escalation_at,
            denial_at=self.denial_at,
            justification_required=self.settings.is_approver_justification_required,
        )


def refusal(
    stage: StageRun | None,
    earlier: list[Decision],
    approver: str,
    justification: str | None,
    requestor: Person,
    target: Person,
) -> tuple[Rule, str] | None:
    """Why a decision by `approver` is refused now, or None when it counts."""
    if stage is None:
        return Rule.NOT_PENDING, "the request is not waiting for an approval"
    if stage.decision is not None:
        return (
            Rule.ALREADY_DECIDED,
            f"stage {stage.number} was already decided by {stage.decision.by}",
        )
    # Every stage must approve on its own: one person does not approve two stages.
    for decision in earlier:
        person = next((p for p in stage.eligible if p.matches(approver)), None)
        if person is not None and person.key == decision.by:
            return (
                Rule.ALREADY_DECIDED,
                f"{decision.by} already decided stage {decision.stage}; stage {stage.number} "
                "needs another approver",
            )
    return decision_refusal(
        approver,
        stage.eligible,
        requestor,
        target,
        justification,
        stage.settings.is_approver_justification_required,
    )


def approves(decision: Decision) -> bool:
    return decision.decision == DecisionKind.APPROVE
