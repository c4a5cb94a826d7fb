"""AccessRequestWorkflow: one access request and the assignment it becomes.

Approval stage by stage (escalation and automatic denial on timers), delivery through the
user's access workflow, then the assignment's life until it ends, then revocation. Decisions
arrive as an Update with a validator (a refused decision is an error to the caller and leaves
no trace) or as a Signal of the same meaning (a refused one is logged and ignored).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.directory_models import InviteGuestInput
    from entitlements.access_changes import AccessChange, ChangeKind, ChangeResult
    from entitlements.decisions import CancelInput, DecisionInput, RemoveInput
    from entitlements.notifications import Notification, NotificationKind
    from entitlements.people import Person
    from entitlements.refusals import REFUSAL_ERROR_TYPE, RequestRefused, Rule
    from entitlements.request_checks import assignment_end, check_text
    from entitlements.requests import AccessRequestInput, RequestType
    from entitlements.status import (
        Decision,
        RequestState,
        RequestStatus,
        ResourceDelivery,
        ResourceState,
    )
    from workflows import activity_calls, search_attributes
    from workflows.approval import StageRun, approves, refusal
    from workflows.user_access import failure_details


SYSTEM_PREFIX = "system:"  # removals by accessctl itself name their cause: system:access-review


def refused(rule: Rule, message: str) -> ApplicationError:
    return ApplicationError(message, rule.value, type=REFUSAL_ERROR_TYPE, non_retryable=True)


@workflow.defn
class AccessRequestWorkflow:
    @workflow.init
    def __init__(self, request: AccessRequestInput) -> None:
        self.request = request
        self.target = request.target
        self.invited = False  # accessctl invited the target as a guest
        self.state = RequestState.PENDING_APPROVAL
        self.stage: StageRun | None = None
        self.decisions: list[Decision] = []
        self.denial_reason: str | None = None
        self.approved_by: Decision | None = None
        self.last_approvers: list[Person] = []
        self.resources = {
            g.key: ResourceDelivery(
                resource_id=g.resource_id, display_name=g.display_name, role=g.role
            )
            for g in request.package.grants
        }
        self.change_results: dict[str, ChangeResult] = {}
        self.start: datetime | None = request.start
        self.end: datetime | None = None
        self.delivered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.ended_by: str | None = None
        self.end_reason: str | None = None
        self.cancel_request: CancelInput | None = None
        self.removal: RemoveInput | None = None
        self.reprocess_requested = False
        self.reprocessed = 0

    # ---- the life of the request --------------------------------------------------------

    @workflow.run
    async def run(self, request: AccessRequestInput) -> RequestStatus:
        self._show()
        stages = (
            request.policy.approval_stages_for_add
            if request.request_type == RequestType.USER_ADD
            else []
        )
        if not await self._approve(stages):
            return self.status()
        if self.start is not None and self.start > workflow.now():
            self._move_to(RequestState.SCHEDULED)
            if not await self._wait_or_removed(self.start):
                return await self._close_unstarted()
        self.start = workflow.now()
        self.end = assignment_end(request.policy, self.start, request.end)
        await self._deliver()
        if self.approved_by is not None:
            await self._notify_outcome(
                NotificationKind.APPROVED, self.approved_by, self.last_approvers
            )
        await self._live()
        await self._revoke()
        return self.status()

    async def _approve(self, stages) -> bool:
        for number, settings in enumerate(stages, start=1):
            self.stage = None  # decisions wait while this stage's approvers are looked up
            started = workflow.now()
            primary = await activity_calls.resolve_approvers(
                self.request, settings.primary_approvers
            )
            if not primary:  # nobody resolved (no manager): the fallback approvers take it
                primary = await activity_calls.resolve_approvers(
                    self.request, settings.fallback_primary_approvers
                )
            self.stage = StageRun(
                number=number,
                of=len(stages),
                settings=settings,
                started_at=started,
                primary=primary,
            )
            self._show()
            await self._notify(NotificationKind.APPROVAL_REQUIRED, primary)
            while self.stage.decision is None and self.cancel_request is None:
                deadline = self.stage.next_deadline()
                try:
                    await workflow.wait_condition(
                        lambda: self.stage.decision is not None or self.cancel_request is not None,
                        timeout=max(deadline - workflow.now(), timedelta(0)),
                    )
                except TimeoutError:
                    if deadline == self.stage.denial_at:
                        return await self._time_out()
                    await self._escalate()
            if self.cancel_request is not None:
                return await self._cancel()
            decision = self.stage.decision
            assert decision is not None
            self.decisions.append(decision)
            if not approves(decision):
                self.denial_reason = f"denied by {decision.by} at stage {number}"
                await self._notify_outcome(NotificationKind.DENIED, decision)
                self.stage = None
                self._move_to(RequestState.DENIED)
                return False
        if stages:
            # Told after delivery, so the mail never delays access.
            self.approved_by = self.decisions[-1]
            self.last_approvers = self.stage.eligible if self.stage else []
            self.stage = None
        return True

    async def _escalate(self) -> None:
        assert self.stage is not None
        settings = self.stage.settings
        alternates = await activity_calls.resolve_approvers(
            self.request, settings.escalation_approvers
        ) or await activity_calls.resolve_approvers(
            self.request, settings.fallback_escalation_approvers
        )
        self.stage.alternates = alternates
        self.stage.escalated = True
        self._show()
        await self._notify(NotificationKind.ESCALATED, alternates)

    async def _time_out(self) -> bool:
        assert self.stage is not None
        approvers = self.stage.eligible
        self.denial_reason = f"timed out: no decision at stage {self.stage.number} in time"
        self.stage = None
        self._move_to(RequestState.DENIED)
        await self._notify(NotificationKind.TIMED_OUT, [*approvers, self.request.requestor])
        return False

    async def _cancel(self) -> bool:
        assert self.cancel_request is not None
        approvers = self.stage.eligible if self.stage else []
        self.stage = None
        self.ended_by = self.cancel_request.by
        self.ended_at = workflow.now()
        self._move_to(RequestState.CANCELED)
        await self._notify(NotificationKind.CANCELED, approvers)
        return False

    async def _close_unstarted(self) -> RequestStatus:
        self.ended_at = workflow.now()
        self._move_to(RequestState.REMOVED if self.removal else RequestState.CANCELED)
        return self.status()

    async def _deliver(self) -> None:
        self._move_to(RequestState.DELIVERING)
        if not self.target.in_directory:
            try:
                self.target = await activity_calls.call(
                    activity_calls.INVITE_GUEST,
                    self._invitation(),
                    result_type=Person,
                )
                self.invited = True
            except ActivityError as error:
                code, message = failure_details(error)
                for resource in self.resources.values():
                    resource.state, resource.error_code = ResourceState.FAILED, code
                    resource.error_message = f"invitation failed: {message}"
                self._move_to(RequestState.DELIVERY_FAILED)
                return
        await self._send_grants(self.request.package.grants)

    def _invitation(self) -> InviteGuestInput:
        invitations = self.request.settings.invitations
        return InviteGuestInput(
            email=self.target.key,
            display_name=self.target.display_name or None,
            redirect_url=invitations.invite_redirect_url,
            send_invitation_message=invitations.send_invitation_message,
        )

    async def _send_grants(self, grants) -> None:
        result = await self._change(ChangeKind.GRANT, grants)
        for outcome in result.outcomes:
            self._record(outcome)
        states = {r.state for r in self.resources.values()}
        if states == {ResourceState.DELIVERED}:
            self._move_to(RequestState.DELIVERED)
        elif ResourceState.DELIVERED in states:
            self._move_to(RequestState.PARTIALLY_DELIVERED)
        else:
            self._move_to(RequestState.DELIVERY_FAILED)
        if self.state == RequestState.DELIVERED and self.delivered_at is None:
            # The first time every resource is in, by first delivery or by reprocessing.
            self.delivered_at = workflow.now()
            if self.request.request_type != RequestType.ADMIN_ADD:
                await self._notify(NotificationKind.DELIVERED, [self.target])

    async def _live(self) -> None:
        """Until the end time, a removal, or reprocessing of failed resources."""
        while True:
            end = self.end
            timeout = max(end - workflow.now(), timedelta(0)) if end else None
            try:
                await workflow.wait_condition(
                    lambda end=end: (
                        self.removal is not None or self.reprocess_requested or self.end != end
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                self.ended_by, self.end_reason = "system", "the assignment reached its end"
                return
            if self.removal is not None:
                self.ended_by, self.end_reason = self.removal.by, self.removal.reason
                return
            if self.reprocess_requested:
                failed = [
                    g
                    for g in self.request.package.grants
                    if self.resources[g.key].state == ResourceState.FAILED
                ]
                await self._send_grants(failed)
                self.reprocess_requested = False
                self.reprocessed += 1

    async def _revoke(self) -> None:
        if self.target.in_directory:
            result = await self._change(ChangeKind.REVOKE, self.request.package.grants)
            for outcome in result.outcomes:
                self._record(outcome)
        self.ended_at = workflow.now()
        self._move_to(RequestState.REMOVED if self.removal else RequestState.EXPIRED)
        await self._notify(NotificationKind.ACCESS_ENDED, [self.target])

    async def _change(self, kind: ChangeKind, grants) -> ChangeResult:
        change_id = str(workflow.uuid4())
        await activity_calls.submit_change(
            AccessChange(
                change_id=change_id,
                kind=kind,
                assignment_id=workflow.info().workflow_id,
                user=self.target,
                grants=list(grants),
                managed_guest=self.invited,
                reply_to=workflow.info().workflow_id,
            )
        )
        await workflow.wait_condition(lambda: change_id in self.change_results)
        return self.change_results.pop(change_id)

    def _record(self, outcome) -> None:
        for key, resource in self.resources.items():
            if resource.resource_id == outcome.resource_id and resource.role == outcome.role:
                self.resources[key] = resource.model_copy(
                    update={
                        "state": outcome.state,
                        "error_code": outcome.error_code,
                        "error_message": outcome.error_message,
                    }
                )

    async def _wait_or_removed(self, until: datetime) -> bool:
        """Sleep until `until`; False when removed or canceled first."""
        try:
            await workflow.wait_condition(
                lambda: self.removal is not None or self.cancel_request is not None,
                timeout=max(until - workflow.now(), timedelta(0)),
            )
        except TimeoutError:
            return True
        return False

    # ---- messages from people -----------------------------------------------------------

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

    def _resolving_approvers(self) -> bool:
        return (
            self.state == RequestState.PENDING_APPROVAL
            and self.stage is None
            and self.cancel_request is None
        )

    @workflow.signal(name="decision")
    def decision_signal(self, decision: DecisionInput) -> None:
        reason = self._decision_refusal(decision)
        if reason:
            workflow.logger.warning(
                "decision refused", extra={"approver": decision.approver, "rule": reason[0].value}
            )
            return
        self._take_decision(decision)

    def _decision_refusal(self, decision: DecisionInput) -> tuple[Rule, str] | None:
        try:
            check_text("the justification", decision.justification)
        except RequestRefused as error:
            return error.rule, error.message
        return refusal(
            self.stage if self.state == RequestState.PENDING_APPROVAL else None,
            self.decisions,
            decision.approver,
            decision.justification,
            self.request.requestor,
            self.request.target,
        )

    def _take_decision(self, decision: DecisionInput) -> Decision:
        assert self.stage is not None
        approver = next(p for p in self.stage.eligible if p.matches(decision.approver))
        recorded = Decision(
            stage=self.stage.number,
            by=approver.key,
            decision=decision.decision,
            justification=(decision.justification or "").strip() or None,
            at=workflow.now(),
        )
        self.stage.decision = recorded
        return recorded

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
        if self.state not in (RequestState.PENDING_APPROVAL, RequestState.SCHEDULED):
            return Rule.NOT_PENDING, f"only a pending request can be canceled; it is {self.state}"
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
        live = {
            RequestState.SCHEDULED,
            RequestState.DELIVERED,
            RequestState.PARTIALLY_DELIVERED,
            RequestState.DELIVERY_FAILED,
        }
        if self.state not in live or self.removal is not None:
            return Rule.NOT_PENDING, f"there is no active assignment to remove; it is {self.state}"
        if removal.by.startswith(SYSTEM_PREFIX):  # an access review, the guest lifecycle
            return None
        is_admin = removal.by.strip().lower() in self.request.settings.administrators
        may_self_remove = (
            self.request.policy.requestor_settings.enable_targets_to_self_remove_access
        )
        if is_admin or (may_self_remove and self.target.matches(removal.by)):
            return None
        return Rule.NOT_REQUESTOR, (
            f"{removal.by} may not remove this assignment (the target may when the policy allows "
            "it, and administrators may)"
        )

    @workflow.update
    async def reprocess(self) -> RequestStatus:
        done = self.reprocessed
        self.reprocess_requested = True
        await workflow.wait_condition(lambda: self.reprocessed > done)
        return self.status()

    @reprocess.validator
    def _validate_reprocess(self) -> None:
        if self.state not in (RequestState.PARTIALLY_DELIVERED, RequestState.DELIVERY_FAILED):
            raise refused(
                Rule.NOTHING_TO_REPROCESS, f"nothing to reprocess: the request is {self.state}"
            )
        if not self.target.in_directory:
            raise refused(Rule.NOTHING_TO_REPROCESS, "the invitation failed; request again")
        if self.removal is not None:
            raise refused(Rule.NOTHING_TO_REPROCESS, "the assignment is being removed")

    @workflow.signal
    def change_applied(self, result: ChangeResult) -> None:
        self.change_results[result.change_id] = result

    @workflow.query
    def status(self) -> RequestStatus:
        request = self.request
        return RequestStatus(
            id=request.request_id,
            request_type=request.request_type.value,
            package_id=request.package.id,
            package_display_name=request.package.display_name,
            catalog_id=request.package.catalog_id,
            policy_id=request.policy.id,
            policy_display_name=request.policy.display_name,
            target=self.target,
            requestor=request.requestor,
            state=self.state,
            waiting_for=self._waiting_for(),
            denial_reason=self.denial_reason,
            stage=self.stage.status() if self.stage else None,
            decisions=self.decisions,
            resources=list(self.resources.values()),
            justification=request.justification,
            answers=request.answers,
            submitted_at=request.submitted_at,
            start=self.start,
            end=self.end or self.request.end,
            delivered_at=self.delivered_at,
            ended_at=self.ended_at,
            ended_by=self.ended_by,
            end_reason=self.end_reason,
        )

    # ---- what operators see -------------------------------------------------------------

    def _waiting_for(self) -> str:
        if self.state == RequestState.PENDING_APPROVAL and self.stage is not None:
            names = ", ".join(p.key for p in self.stage.eligible) or "nobody (no approver resolved)"
            forwarded = " (forwarded to alternates)" if self.stage.escalated else ""
            return (
                f"approval at stage {self.stage.number} of {self.stage.of}{forwarded} from "
                f"{names}, until {self.stage.denial_at.isoformat()}"
            )
        if self.state == RequestState.PENDING_APPROVAL:
            return "resolving approvers"
        if self.state == RequestState.SCHEDULED and self.start:
            return f"the start of access at {self.start.isoformat()}"
        if self.state == RequestState.DELIVERING:
            return "the directory to grant the package's resources"
        if self.state in (RequestState.PARTIALLY_DELIVERED, RequestState.DELIVERY_FAILED):
            failed = [
                r.display_name for r in self.resources.values() if r.state == ResourceState.FAILED
            ]
            return f"an operator to reprocess: failed {', '.join(failed)}"
        if self.state == RequestState.DELIVERED:
            return (
                f"the end of access at {self.end.isoformat()}" if self.end else "removal (no end)"
            )
        return f"nothing: the request is {self.state.value}"

    def _move_to(self, state: RequestState) -> None:
        self.state = state
        self._show()

    def _show(self) -> None:
        # Every name of every approver who may decide now, so "pending for me" is one query
        # whether I give my email, my user principal name or my object id.
        approvers = (
            sorted({name for p in self.stage.eligible for name in p.identifiers()})
            if (self.stage)
            else []
        )
        updates = [
            search_attributes.REQUEST_STATE.value_set(self.state.value),
            search_attributes.PENDING_APPROVERS.value_set(approvers),
            search_attributes.ACCESS_PACKAGE.value_set(self.request.package.id),
            search_attributes.ACCESS_CATALOG.value_set(self.request.package.catalog_id),
            search_attributes.ACCESS_POLICY.value_set(self.request.policy.id),
            search_attributes.TARGET_USER.value_set(self.request.target.key),
            search_attributes.REQUESTOR.value_set(self.request.requestor.key),
        ]
        if self.end is not None and self.start is not None:
            updates.append(search_attributes.ACCESS_END_TIME.value_set(self.end))
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(f"{self.state.value}: waiting for {self._waiting_for()}")

    async def _notify(self, kind: NotificationKind, recipients: list[Person], **facts) -> None:
        request = self.request
        stage = self.stage
        await activity_calls.notify(
            Notification(
                kind=kind,
                sender=request.settings.notifications.sender_mailbox,
                recipients=recipients,
                request_id=request.request_id,
                package=request.package.display_name,
                target=self.target,
                requestor=request.requestor,
                justification=request.justification,
                answers=request.answers,
                stage=stage.number if stage else None,
                stages=stage.of if stage else None,
                deadline=stage.denial_at if stage else None,
                end=self.end,
                **facts,
            )
        )

    async def _notify_outcome(
        self, kind: NotificationKind, decision: Decision, approvers: list[Person] | None = None
    ) -> None:
        if approvers is None:
            approvers = self.stage.eligible if self.stage else []
        await self._notify(
            kind,
            [self.request.requestor, *approvers],
            decided_by=decision.by,
            decision_justification=decision.justification,
        )
