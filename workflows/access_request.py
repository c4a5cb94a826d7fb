"""AccessRequestWorkflow: one access request and the assignment it becomes.

Approval stage by stage (escalation and automatic denial on timers), delivery through the
user's access workflow, then the assignment's life: reminders, extensions (their own approval
stages, beside the end timer), removal, reprocessing; at the end, revocation. A long-lived
assignment continues-as-new carrying its record, so no run's history grows large.

Decisions arrive as an Update with a validator (a refused decision is an error to the caller
and leaves no trace) or as a Signal of the same meaning (a refused one is logged and ignored).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.directory_models import InviteGuestInput
    from entitlements.access_changes import (
        AccessChange,
        ChangeKind,
        ChangeResult,
        ResourceOutcome,
    )
    from entitlements.approval_stage import StageRun, approves, refusal
    from entitlements.assignment import AssignmentRecord, status_of, waiting_for
    from entitlements.decisions import CancelInput, DecisionInput, ExtendInput, RemoveInput
    from entitlements.lifetime import extended_end, extension_refusal, next_reminder
    from entitlements.notifications import Notification, NotificationKind
    from entitlements.people import Person
    from entitlements.policy import ApprovalStage
    from entitlements.refusals import REFUSAL_ERROR_TYPE, RequestRefused, Rule
    from entitlements.request_checks import assignment_end, check_text
    from entitlements.requests import AccessRequestInput, RequestType
    from entitlements.status import (
        AuditEvent,
        Decision,
        Extension,
        ExtensionState,
        Reminder,
        RequestState,
        RequestStatus,
        ResourceState,
    )
    from workflows import activity_calls, search_attributes
    from workflows.user_access import failure_details

SYSTEM_PREFIX = "system:"  # removals by accessctl itself name their cause: system:access-review
APPROVED, DENIED, TIMED_OUT, STOPPED = "approved", "denied", "timedOut", "stopped"


def refused(rule: Rule, message: str) -> ApplicationError:
    return ApplicationError(message, rule.value, type=REFUSAL_ERROR_TYPE, non_retryable=True)


@workflow.defn
class AccessRequestWorkflow:
    @workflow.init
    def __init__(self, request: AccessRequestInput) -> None:
        self.request = request
        self.record = request.record or AssignmentRecord.new(request)
        self.change_results: dict[str, ChangeResult] = {}
        self.cancel_request: CancelInput | None = None
        self.removal: RemoveInput | None = None
        self.reprocess_requested = False
        self.reprocessed = 0
        self.extension_asked = False
        self.ending = False  # the end time has come: approvals in flight stop
        self.approval_mail: tuple[Decision, list[Person]] | None = None
        self.signaled_while_resolving: list[DecisionInput] = []  # judged once approvers are known

    # ---- the life of the request --------------------------------------------------------

    @workflow.run
    async def run(self, request: AccessRequestInput) -> RequestStatus:
        self._show()
        if request.record is None:
            self._audit("request.submitted", request.requestor.key, type=request.request_type)
            stages = (
                request.policy.approval_stages_for_add
                if request.request_type == RequestType.USER_ADD
                else []
            )
            if stages and request.target.in_directory:
                # While approvers think, start the user's workflow, so that delivery finds it
                # loaded. A guest still to be invited gets one at delivery instead.
                await activity_calls.ensure_user_workflow(request.target)
            if stages and await self._approve(stages, "request") != APPROVED:
                return self.status()
            start = self.record.start
            if start is not None and start > workflow.now():
                self._move_to(RequestState.SCHEDULED)
                if not await self._wait_or_stopped(start):
                    return self._close_unstarted()
            self.record.start = workflow.now()
            self.record.end = assignment_end(request.policy, self.record.start, request.end)
            await self._deliver()
            if self.approval_mail:  # after delivery, so the mail never delays access
                decision, approvers = self.approval_mail
                await self._notify_outcome(NotificationKind.APPROVED, decision, approvers)
        await self._live()
        await self._revoke()
        return self.status()

    async def _approve(self, stages: list[ApprovalStage], subject: str) -> str:
        """Run the approval stages for the request or an extension: approved, denied, ..."""
        stop: Callable[[], bool] = (
            (lambda: self.cancel_request is not None)
            if subject == "request"
            else (lambda: self.removal is not None or self.ending)
        )
        self.record.approving = subject
        outcome = APPROVED
        for number, settings in enumerate(stages, start=1):
            outcome = await self._run_stage(number, len(stages), settings, stop)
            if outcome != APPROVED:
                break
        self.record.approving = None
        self.record.stage = None
        self._show()
        return outcome

    async def _run_stage(
        self, number: int, of: int, settings: ApprovalStage, stop: Callable[[], bool]
    ) -> str:
        self.record.stage = None  # decisions wait while this stage's approvers are looked up
        started = workflow.now()
        primary = await activity_calls.resolve_approvers(
            self.request, settings.primary_approvers
        ) or await activity_calls.resolve_approvers(  # none (no manager): the fallback
            self.request, settings.fallback_primary_approvers
        )
        stage = StageRun(
            number=number, of=of, settings=settings, started_at=started, primary=primary
        )
        self.record.stage = stage
        self._show()
        self._judge_signaled_decisions()
        await self._notify(NotificationKind.APPROVAL_REQUIRED, primary)
        while stage.decision is None and not stop():
            deadline = stage.next_deadline()
            try:
                await workflow.wait_condition(
                    lambda: stage.decision is not None or stop(),
                    timeout=max(deadline - workflow.now(), timedelta(0)),
                )
            except TimeoutError:
                if deadline == stage.denial_at:
                    return await self._time_out(stage)
                await self._escalate(stage)
        if stage.decision is None:
            if self.cancel_request is not None:
                await self._cancel(stage)
            return STOPPED
        decision = stage.decision
        self.record.decisions.append(decision)
        self._audit(
            f"decision.{decision.decision.value}",
            decision.by,
            stage=str(number),
            justification=decision.justification or "",
            subject=self.record.approving or "",
        )
        if approves(decision):
            if number == of:
                self.approval_mail = (decision, stage.eligible)
            return APPROVED
        await self._notify_outcome(NotificationKind.DENIED, decision, stage.eligible)
        if self.record.approving == "request":
            self.record.denial_reason = f"denied by {decision.by} at stage {number}"
            self._move_to(RequestState.DENIED)
        return DENIED

    async def _escalate(self, stage: StageRun) -> None:
        settings = stage.settings
        alternates = await activity_calls.resolve_approvers(
            self.request, settings.escalation_approvers
        ) or await activity_calls.resolve_approvers(
            self.request, settings.fallback_escalation_approvers
        )
        stage.alternates = alternates
        stage.escalated = True
        self._audit("stage.escalated", "system", stage=str(stage.number))
        self._show()
        await self._notify(NotificationKind.ESCALATED, alternates)

    async def _time_out(self, stage: StageRun) -> str:
        self._audit("stage.timedOut", "system", stage=str(stage.number))
        await self._notify(NotificationKind.TIMED_OUT, [*stage.eligible, self.request.requestor])
        if self.record.approving == "request":
            self.record.denial_reason = f"timed out: no decision at stage {stage.number} in time"
            self._move_to(RequestState.DENIED)
        return TIMED_OUT

    async def _cancel(self, stage: StageRun | None) -> None:
        assert self.cancel_request is not None
        self.record.ended_by = self.cancel_request.by
        self.record.ended_at = workflow.now()
        self._audit("request.canceled", self.cancel_request.by)
        self._move_to(RequestState.CANCELED)
        await self._notify(NotificationKind.CANCELED, stage.eligible if stage else [])

    def _close_unstarted(self) -> RequestStatus:
        self.record.ended_at = workflow.now()
        if self.removal:
            self.record.ended_by, self.record.end_reason = self.removal.by, self.removal.reason
            self._audit("assignment.removed", self.removal.by, reason=self.removal.reason or "")
        else:
            assert self.cancel_request is not None
            self.record.ended_by = self.cancel_request.by
            self._audit("request.canceled", self.cancel_request.by)
        self._move_to(RequestState.REMOVED if self.removal else RequestState.CANCELED)
        return self.status()

    async def _deliver(self) -> None:
        self._move_to(RequestState.DELIVERING)
        if not self.record.target.in_directory:
            try:
                self.record.target = await activity_calls.call(
                    activity_calls.INVITE_GUEST, self._invitation(), result_type=Person
                )
            except ActivityError as error:
                code, message = failure_details(error)
                for resource in self.record.resources.values():
                    resource.state, resource.error_code = ResourceState.FAILED, code
                    resource.error_message = f"invitation failed: {message}"
                self._audit("guest.invitationFailed", "system", code=code, message=message)
                self._move_to(RequestState.DELIVERY_FAILED)
                return
            self.record.invited = True
            self._audit("guest.invited", "system", object_id=self.record.target.id or "")
        await self._send_grants(self.request.package.grants)

    def _invitation(self) -> InviteGuestInput:
        invitations = self.request.settings.invitations
        return InviteGuestInput(
            email=self.record.target.key,
            display_name=self.record.target.display_name or None,
            redirect_url=invitations.invite_redirect_url,
            send_invitation_message=invitations.send_invitation_message,
        )

    async def _send_grants(self, grants) -> None:
        await self._change(ChangeKind.GRANT, grants)
        states = {r.state for r in self.record.resources.values()}
        if states == {ResourceState.DELIVERED}:
            self._move_to(RequestState.DELIVERED)
        elif ResourceState.DELIVERED in states:
            self._move_to(RequestState.PARTIALLY_DELIVERED)
        else:
            self._move_to(RequestState.DELIVERY_FAILED)
        if self.record.state == RequestState.DELIVERED and self.record.delivered_at is None:
            # The first time every resource is in, by first delivery or by reprocessing.
            self.record.delivered_at = workflow.now()
            self._audit("assignment.delivered", "system")
            if self.request.request_type != RequestType.ADMIN_ADD:
                recipients = [self.record.target, self.request.requestor]  # one mail each
                await self._notify(NotificationKind.DELIVERED, recipients)

    async def _live(self) -> None:
        """Until the end, a removal: reminders, extensions, reprocessing on the way."""
        extension: asyncio.Task | None = None
        while True:
            if extension is not None and extension.done():
                extension = None
            if extension is None and self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.request.model_copy(update={"record": self.record}))
            record = self.record
            end = record.end
            reminder = next_reminder(self.request.policy, record.start, end, record.reminders)
            times = [t for t in (end, reminder[1] if reminder else None) if t is not None]
            wake_at = min(times) if times else None
            try:
                await workflow.wait_condition(
                    lambda end=end, extension=extension: (
                        self.removal is not None
                        or self.reprocess_requested
                        or self.extension_asked
                        or self.record.end != end
                        or (extension is not None and extension.done())
                        or self._should_continue_as_new()
                    ),
                    timeout=max(wake_at - workflow.now(), timedelta(0)) if wake_at else None,
                )
            except TimeoutError:
                pass  # a timer and a message can land together: decide from the state below
            if self.removal is not None:
                record.ended_by, record.end_reason = self.removal.by, self.removal.reason
                break
            if self.reprocess_requested:
                await self._reprocess()
            if self.extension_asked:
                self.extension_asked = False
                extension = asyncio.create_task(self._approve_extension())
            now = workflow.now()
            if record.end is not None and now >= record.end:
                self.ending = True
                record.ended_by, record.end_reason = "system", "the assignment reached its end"
                break
            if reminder and record.end == end and now >= reminder[1]:
                await self._remind(reminder[0], reminder[1])
        if extension is not None:
            await extension  # it sees the end and stops

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.request.history_limit
        ) and self.record.pending_extension is None

    async def _remind(self, before_end: str, due_at: datetime) -> None:
        assert self.record.end is not None
        self.record.reminders.append(
            Reminder(
                before_end=before_end,
                due_at=due_at,
                for_end=self.record.end,
                sent_at=workflow.now(),
            )
        )
        self._audit("reminder.sent", "system", before_end=before_end)
        await self._notify(
            NotificationKind.EXPIRY_REMINDER, [self.record.target], detail=f"{before_end} left"
        )

    async def _reprocess(self) -> None:
        failed = [
            g
            for g in self.request.package.grants
            if self.record.resources[g.key].state == ResourceState.FAILED
        ]
        self._audit("assignment.reprocessed", "system", resources=str(len(failed)))
        await self._send_grants(failed)
        self.reprocess_requested = False
        self.reprocessed += 1

    async def _approve_extension(self) -> None:
        extension = self.record.pending_extension
        assert extension is not None
        outcome = await self._approve(self.request.policy.approval_stages_for_update, "extension")
        extension.decided_at = workflow.now()
        if outcome == APPROVED:
            self._apply_extension(extension)
            if self.approval_mail:
                decision, approvers = self.approval_mail
                await self._notify_outcome(NotificationKind.EXTENDED, decision, approvers)
            return
        extension.state = ExtensionState.ENDED if outcome == STOPPED else ExtensionState.DENIED
        extension.reason = {DENIED: "denied", TIMED_OUT: "timed out"}.get(outcome, "access ended")
        self._audit("extension.denied", "system", reason=extension.reason)

    def _apply_extension(self, extension: Extension) -> None:
        extension.state = ExtensionState.APPROVED
        extension.decided_at = workflow.now()
        self.record.end = extension.new_end  # the end timer re-arms; reminders follow
        self._audit(
            "assignment.extended",
            extension.requested_by,
            new_end=extension.new_end.isoformat(),
            justification=extension.justification or "",
        )
        self._show()

    async def _revoke(self) -> None:
        record = self.record
        if record.target.in_directory:
            await self._change(ChangeKind.REVOKE, self.request.package.grants)
        record.ended_at = workflow.now()
        removed = self.removal is not None
        self._audit(
            "assignment.removed" if removed else "assignment.expired",
            record.ended_by or "system",
            reason=record.end_reason or "",
        )
        self._move_to(RequestState.REMOVED if removed else RequestState.EXPIRED)
        await self._notify(NotificationKind.ACCESS_ENDED, [record.target])

    async def _change(self, kind: ChangeKind, grants) -> ChangeResult:
        change_id = str(workflow.uuid4())
        revoke = kind == ChangeKind.REVOKE
        change = AccessChange(
            change_id=change_id,
            kind=kind,
            assignment_id=workflow.info().workflow_id,
            user=self.record.target,
            grants=list(grants),
            managed_guest=self.record.invited,
            reply_to=None if revoke else workflow.info().workflow_id,
        )
        if revoke:
            # An update answered within this workflow task: the end is one task from the role
            # removed (revocation lag is the promise), and nothing comes back to wake us.
            result = await self._apply_revoke(change)
        else:
            # A grant may be the user's first: signal-with-start, and a reply signal.
            await activity_calls.submit_change(change)
            await workflow.wait_condition(lambda: change_id in self.change_results)
            result = self.change_results.pop(change_id)
        for outcome in result.outcomes:
            self._record_outcome(outcome)
        return result

    async def _apply_revoke(self, change: AccessChange) -> ChangeResult:
        try:
            return await activity_calls.apply_change(change)
        except activity_calls.CALL_FAILURES as error:  # sent to the wrong user's workflow
            code, message = failure_details(error)
            failed = [
                ResourceOutcome(
                    resource_id=g.resource_id,
                    role=g.role,
                    state=ResourceState.FAILED,
                    error_code=code,
                    error_message=message,
                )
                for g in change.grants
            ]
            return ChangeResult(change_id=change.change_id, outcomes=failed)

    def _record_outcome(self, outcome) -> None:
        for key, resource in self.record.resources.items():
            if resource.resource_id == outcome.resource_id and resource.role == outcome.role:
                self.record.resources[key] = resource.model_copy(
                    update={
                        "state": outcome.state,
                        "error_code": outcome.error_code,
                        "error_message": outcome.error_message,
                    }
                )
                detail = {"resource": resource.resource_id, "role": resource.role}
                if outcome.error_code:
                    detail |= {"code": outcome.error_code, "message": outcome.error_message or ""}
                self._audit(f"resource.{outcome.state.value}", "system", **detail)

    async def _wait_or_stopped(self, until: datetime) -> bool:
        """Sleep until `until`; False when removed or canceled first."""
        try:
            await workflow.wait_condition(
                lambda: self.removal is not None or self.cancel_request is not None,
                timeout=max(until - workflow.now(), timedelta(0)),
            )
        except TimeoutError:
            return True
        return False

    # ---- decisions ----------------------------------------------------------------------

    @workflow.update
    async def decide(self, decision: DecisionInput) -> Decision:
        if self._resolving_approvers():
            # Accepted while the stage's approvers were being looked up: check again now.
            await workflow.wait_condition(lambda: not self._resolving_approvers())
            reason = self._decision_refusal(decision)
            if reason:
                raise refused(*reason)
        return self._take_decision(decision)

    @decide.validator
    def _validate_decide(self, decision: DecisionInput) -> None:
        if self._resolving_approvers():
            return
        reason = self._decision_refusal(decision)
        if reason:
            raise refused(*reason)

    @workflow.signal(name="decision")
    def decision_signal(self, decision: DecisionInput) -> None:
        if self._resolving_approvers():  # as the update does: judged once the stage is known
            self.signaled_while_resolving.append(decision)
            return
        reason = self._decision_refusal(decision)
        if reason:
            workflow.logger.warning(
                "decision refused", extra={"approver": decision.approver, "rule": reason[0].value}
            )
            return
        self._take_decision(decision)

    def _judge_signaled_decisions(self) -> None:
        waiting, self.signaled_while_resolving = self.signaled_while_resolving, []
        for decision in waiting:
            self.decision_signal(decision)  # the first that counts decides; later ones refused

    def _resolving_approvers(self) -> bool:
        return (
            self.record.approving is not None
            and self.record.stage is None
            and self.cancel_request is None
        )

    def _decision_refusal(self, decision: DecisionInput) -> tuple[Rule, str] | None:
        try:
            check_text("the justification", decision.justification)
        except RequestRefused as error:
            return error.rule, error.message
        for_extension = self.record.approving == "extension"
        this_round = [d for d in self.record.decisions if d.for_extension == for_extension]
        if for_extension:  # only this extension's decisions count for "one person, one stage"
            asked = self.record.pending_extension
            this_round = [d for d in this_round if asked and d.at >= asked.requested_at]
        return refusal(
            self.record.stage if self.record.approving else None,
            this_round,
            decision.approver,
            decision.justification,
            self.request.requestor,
            self.request.target,
        )

    def _take_decision(self, decision: DecisionInput) -> Decision:
        stage = self.record.stage
        assert stage is not None
        approver = next(p for p in stage.eligible if p.matches(decision.approver))
        recorded = Decision(
            stage=stage.number,
            by=approver.key,
            decision=decision.decision,
            justification=(decision.justification or "").strip() or None,
            at=workflow.now(),
            for_extension=self.record.approving == "extension",
        )
        stage.decision = recorded
        return recorded

    # ---- cancel, remove, extend, reprocess ----------------------------------------------

    @workflow.update
    async def cancel(self, cancel: CancelInput) -> None:
        self.cancel_request = cancel

    @cancel.validator
    def _validate_cancel(self, cancel: CancelInput) -> None:
        reason = self._cancel_refusal(cancel)
        if reason:
            raise refused(*reason)

    @workflow.signal(name="cancel_request")
    def cancel_signal(self, cancel: CancelInput) -> None:
        if self._cancel_refusal(cancel) is None:
            self.cancel_request = cancel

    def _cancel_refusal(self, cancel: CancelInput) -> tuple[Rule, str] | None:
        state = self.record.state
        if state not in (RequestState.PENDING_APPROVAL, RequestState.SCHEDULED):
            return Rule.NOT_PENDING, f"only a pending request can be canceled; it is {state}"
        if not (
            self.request.requestor.matches(cancel.by) or self.request.target.matches(cancel.by)
        ):
            return Rule.NOT_REQUESTOR, f"{cancel.by} did not make this request"
        return None

    @workflow.update
    async def remove(self, removal: RemoveInput) -> None:
        self.removal = removal

    @remove.validator
    def _validate_remove(self, removal: RemoveInput) -> None:
        reason = self._removal_refusal(removal)
        if reason:
            raise refused(*reason)

    def _removal_refusal(self, removal: RemoveInput) -> tuple[Rule, str] | None:
        record = self.record
        if not (record.is_live or record.state == RequestState.SCHEDULED) or self.removal:
            return (
                Rule.NOT_PENDING,
                f"there is no active assignment to remove; it is {record.state}",
            )
        try:
            check_text("the reason", removal.reason)
        except RequestRefused as error:
            return error.rule, error.message
        if removal.by.startswith(SYSTEM_PREFIX):  # an access review, the guest lifecycle
            return None
        is_admin = removal.by.strip().lower() in self.request.settings.administrators
        may_self_remove = (
            self.request.policy.requestor_settings.enable_targets_to_self_remove_access
        )
        if is_admin or (may_self_remove and record.target.matches(removal.by)):
            return None
        return Rule.NOT_REQUESTOR, (
            f"{removal.by} may not remove this assignment (the target may when the policy allows "
            "it, and administrators may)"
        )

    @workflow.update
    async def extend(self, ask: ExtendInput) -> Extension:
        # Still in the policy's scope? That needs the directory, so it is checked here, after
        # the validator; a refusal then changes nothing either.
        out_of_scope = await activity_calls.call(
            activity_calls.SCOPE_REFUSAL,
            activity_calls.scope_check(self.request, self.record.target),
            result_type=str,
        )
        if out_of_scope:
            raise refused(Rule.OUT_OF_SCOPE, out_of_scope)
        reason = self._extension_refusal(ask)  # the state may have moved meanwhile
        if reason:
            raise refused(*reason)
        record, now = self.record, workflow.now()
        assert record.end is not None
        new_end = extended_end(self.request.policy, now, ask.end)
        assert new_end is not None
        extension = Extension(
            requested_by=record.target.key,
            requested_at=now,
            justification=(ask.justification or "").strip() or None,
            previous_end=record.end,
            new_end=new_end,
            state=ExtensionState.PENDING_APPROVAL,
        )
        record.extensions.append(extension)
        self._audit("extension.requested", extension.requested_by, new_end=new_end.isoformat())
        if self.request.policy.approval_stages_for_update:
            self.extension_asked = True
        else:
            self._apply_extension(extension)
        return extension

    @extend.validator
    def _validate_extend(self, ask: ExtendInput) -> None:
        reason = self._extension_refusal(ask)
        if reason:
            raise refused(*reason)

    def _extension_refusal(self, ask: ExtendInput) -> tuple[Rule, str] | None:
        record = self.record
        if not record.is_live or self.removal is not None or self.ending:
            return (
                Rule.NOT_PENDING,
                f"there is no active assignment to extend; it is {record.state}",
            )
        if record.pending_extension is not None:
            return Rule.EXTENSION_PENDING, "an extension is already waiting for approval"
        try:
            check_text("the justification", ask.justification)
        except RequestRefused as error:
            return error.rule, error.message
        return extension_refusal(
            self.request.policy, record.target, ask.by, workflow.now(), record.end, ask.end
        )

    @workflow.update
    async def reprocess(self) -> RequestStatus:
        done = self.reprocessed
        self.reprocess_requested = True
        await workflow.wait_condition(lambda: self.reprocessed > done)
        return self.status()

    @reprocess.validator
    def _validate_reprocess(self) -> None:
        state = self.record.state
        if state not in (RequestState.PARTIALLY_DELIVERED, RequestState.DELIVERY_FAILED):
            raise refused(
                Rule.NOTHING_TO_REPROCESS, f"nothing to reprocess: the request is {state}"
            )
        if not self.record.target.in_directory:
            raise refused(Rule.NOTHING_TO_REPROCESS, "the invitation failed; request again")
        if self.removal is not None:
            raise refused(Rule.NOTHING_TO_REPROCESS, "the assignment is being removed")

    @workflow.signal
    def change_applied(self, result: ChangeResult) -> None:
        self.change_results[result.change_id] = result

    @workflow.query
    def status(self) -> RequestStatus:
        return status_of(self.request, self.record)

    @workflow.query
    def audit(self) -> list[AuditEvent]:
        return self.record.audit

    # ---- what operators see -------------------------------------------------------------

    def _move_to(self, state: RequestState) -> None:
        self.record.state = state
        self._show()

    def _show(self) -> None:
        record, request = self.record, self.request
        # Every name of every approver who may decide now, so "pending for me" is one query
        # whether I give my email, my user principal name or my object id. The requestor and
        # the target never decide, even from an approver group.
        deciders = (
            [p for p in record.stage.eligible if not self._asks_for_itself(p)]
            if record.stage
            else []
        )
        approvers = sorted({name for p in deciders for name in p.identifiers()})
        updates = [
            search_attributes.REQUEST_STATE.value_set(record.state.value),
            search_attributes.PENDING_APPROVERS.value_set(approvers),
            search_attributes.ACCESS_PACKAGE.value_set(request.package.id),
            search_attributes.ACCESS_CATALOG.value_set(request.package.catalog_id),
            search_attributes.ACCESS_POLICY.value_set(request.policy.id),
            search_attributes.TARGET_USER.value_set(request.target.key),
            search_attributes.REQUESTOR.value_set(request.requestor.key),
        ]
        if record.end is not None and record.start is not None:
            updates.append(search_attributes.ACCESS_END_TIME.value_set(record.end))
        search_attributes.upsert_changed(updates)
        workflow.set_current_details(f"{record.state.value}: waiting for {waiting_for(record)}")

    def _asks_for_itself(self, person: Person) -> bool:
        return any(
            self.request.requestor.matches(name) or self.request.target.matches(name)
            for name in person.identifiers()
        )

    def _audit(self, event: str, actor: str, **detail: str) -> None:
        entry = AuditEvent(
            at=workflow.now(),
            event=event,
            actor=actor,
            request_id=self.request.request_id,
            package=self.request.package.id,
            user=self.request.target.key,
            detail={k: str(v) for k, v in detail.items()},
        )
        self.record.audit.append(entry)
        # workflow.logger does not log again on replay: one line per event, for a SIEM.
        workflow.logger.info(event, extra={"audit": entry.model_dump(mode="json")})

    async def _notify(self, kind: NotificationKind, recipients: list[Person], **facts) -> None:
        request, stage = self.request, self.record.stage
        if not request.settings.notifications.is_enabled:
            return
        await activity_calls.notify(
            Notification(
                kind=kind,
                sender=request.settings.notifications.sender_mailbox,
                recipients=recipients,
                request_id=request.request_id,
                package=request.package.display_name,
                target=self.record.target,
                requestor=request.requestor,
                justification=request.justification,
                answers=request.answers,
                stage=stage.number if stage else None,
                stages=stage.of if stage else None,
                deadline=stage.denial_at if stage else None,
                end=self.record.end,
                **facts,
            )
        )

    async def _notify_outcome(
        self, kind: NotificationKind, decision: Decision, approvers: list[Person]
    ) -> None:
        await self._notify(
            kind,
            [self.request.requestor, *approvers],
            decided_by=decision.by,
            decision_justification=decision.justification,
        )
