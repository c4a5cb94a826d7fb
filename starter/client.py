"""AccessClient: the typed Python client services use, and the CLI is built on.

Every refusal comes back as `RequestRefused` naming its rule; nothing else is changed by it.
What the caller typed is checked here first (names bounded and printable, free text as the
worker checks it), so a hostile value is refused before it reaches Temporal or the directory.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.temporal_client import connect_temporal, task_queue
from entitlements.decisions import CancelInput, DecisionInput, ExtendInput, RemoveInput
from entitlements.identifiers import check_name, check_person
from entitlements.refusals import REFUSAL_ERROR_TYPE, RequestRefused, Rule
from entitlements.request_checks import check_text
from entitlements.requests import (
    REQUEST_ID_PREFIX,
    AccessAsk,
    AccessRequestInput,
    RequestType,
)
from entitlements.status import (
    AuditEvent,
    Decision,
    DecisionKind,
    Extension,
    RequestState,
    RequestStatus,
)
from workflows import search_attributes
from workflows.access_request import AccessRequestWorkflow
from workflows.intake import RequestIntakeWorkflow
from workflows.request_start import already_open, request_search_attributes, request_summary


class AccessClient:
    def __init__(self, client: Client, queue: str | None = None) -> None:
        self.client = client
        self.task_queue = queue or task_queue()

    @classmethod
    async def connect(cls, **overrides) -> AccessClient:
        return cls(await connect_temporal(**overrides))

    # ---- requests -----------------------------------------------------------------------

    async def request_access(
        self,
        package: str,
        target: str,
        *,
        requestor: str | None = None,
        policy: str | None = None,
        justification: str | None = None,
        answers: dict[str, str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> str:
        """Ask for an access package for `target`; returns the request id."""
        ask = AccessAsk(
            package_id=check_name("the package id", package),
            target=check_person("the target", target),
            requestor=_optional(check_person, "the requestor", requestor),
            policy_id=_optional(check_name, "the policy id", policy),
            justification=_text("the justification", justification),
            answers=_answers(answers or {}),
            start=start,
            end=end,
        )
        return await self._submit(ask)

    async def assign(
        self,
        package: str,
        target: str,
        *,
        admin: str,
        end: datetime | None = None,
        policy: str | None = None,
        justification: str | None = None,
    ) -> str:
        """Direct assignment by an administrator (adminAdd): no approval, no completion mail."""
        ask = AccessAsk(
            package_id=check_name("the package id", package),
            target=check_person("the target", target),
            requestor=check_person("the administrator", admin),
            policy_id=_optional(check_name, "the policy id", policy),
            end=end,
            justification=_text("the justification", justification),
            request_type=RequestType.ADMIN_ADD,
        )
        return await self._submit(ask)

    async def _submit(self, ask: AccessAsk) -> str:
        outcome = await self.client.execute_workflow(
            RequestIntakeWorkflow.run,
            ask,
            id=f"intake:{uuid.uuid4()}",
            task_queue=self.task_queue,
            static_summary=f"Intake: {ask.package_id} for {ask.target}",
        )
        if outcome.request is None:
            raise RequestRefused(_rule(outcome.refusal_rule), outcome.refusal or "refused")
        return await self._start(outcome.request)

    async def _start(self, request: AccessRequestInput) -> str:
        try:
            await self.client.start_workflow(
                AccessRequestWorkflow.run,
                request,
                id=request.request_id,
                task_queue=self.task_queue,
                search_attributes=request_search_attributes(request),
                static_summary=request_summary(request),
            )
        except WorkflowAlreadyStartedError:
            raise RequestRefused(
                Rule.OPEN_REQUEST_EXISTS, already_open(request.request_id)
            ) from None
        return request.request_id

    # ---- acting on a request ------------------------------------------------------------

    async def decide(
        self,
        request_id: str,
        approver: str,
        decision: DecisionKind,
        justification: str | None = None,
    ) -> Decision:
        update = DecisionInput(
            approver=check_person("the approver", approver),
            decision=decision,
            justification=_text("the justification", justification),
        )
        return await self._update(request_id, AccessRequestWorkflow.decide, update)

    async def approve(self, request_id: str, approver: str, justification: str | None = None):
        return await self.decide(request_id, approver, DecisionKind.APPROVE, justification)

    async def deny(self, request_id: str, approver: str, justification: str | None = None):
        return await self.decide(request_id, approver, DecisionKind.DENY, justification)

    async def cancel(self, request_id: str, by: str) -> None:
        cancel = CancelInput(by=check_person("who cancels", by))
        await self._update(request_id, AccessRequestWorkflow.cancel, cancel)

    async def remove(self, request_id: str, by: str, reason: str | None = None) -> None:
        who = check_person("who removes", by)
        removal = RemoveInput(by=who, reason=_text("the reason", reason))
        await self._update(request_id, AccessRequestWorkflow.remove, removal)

    async def extend(
        self,
        request_id: str,
        by: str,
        *,
        end: datetime | None = None,
        justification: str | None = None,
    ) -> Extension:
        """Ask to extend one's own access; approved at once or waiting for approval."""
        ask = ExtendInput(
            by=check_person("who extends", by),
            end=end,
            justification=_text("the justification", justification),
        )
        return await self._update(request_id, AccessRequestWorkflow.extend, ask)

    async def audit(self, request_id: str) -> list[AuditEvent]:
        """Every event of a request: who did what, when and why."""
        try:
            return await self._handle(request_id).query(AccessRequestWorkflow.audit)
        except RPCError as error:
            raise _not_found(request_id, error) from None

    async def audit_trail(
        self,
        *,
        package: str | None = None,
        user: str | None = None,
        since: datetime | None = None,
    ) -> list[AuditEvent]:
        """The audit events of every matching request, oldest first: the workflows are the
        record, so the trail needs no store of its own."""
        events: list[AuditEvent] = []
        for row in await self.list_requests(package=package, user=user):
            try:
                events += await self.audit(row["id"])
            except RequestRefused:
                continue  # gone meanwhile (retention)
        if since is not None:
            events = [e for e in events if e.at >= since]
        return sorted(events, key=lambda e: e.at)

    async def reprocess(self, request_id: str) -> RequestStatus:
        return await self._update(request_id, AccessRequestWorkflow.reprocess)

    async def status(self, request_id: str) -> RequestStatus:
        try:
            return await self._handle(request_id).query(AccessRequestWorkflow.status)
        except RPCError as error:
            raise _not_found(request_id, error) from None

    async def wait(self, request_id: str) -> RequestStatus:
        """The request's final status, once it has ended."""
        try:
            return await self._handle(request_id).result()
        except WorkflowFailureError as error:
            raise RuntimeError(f"request {request_id} failed: {error.cause}") from error

    # ---- visibility: what an operator filters in the Temporal UI ------------------------

    async def list_requests(
        self,
        *,
        package: str | None = None,
        user: str | None = None,
        state: str | None = None,
        approver: str | None = None,
        running_only: bool = False,
    ) -> list[dict]:
        """Requests matching every filter given, newest first, from Temporal visibility."""
        query = request_query(
            package=package, user=user, state=state, approver=approver, running_only=running_only
        )
        rows = []
        async for execution in self.client.list_workflows(query):
            attributes = execution.typed_search_attributes
            rows.append(
                {
                    "id": execution.id,
                    "package": attributes.get(search_attributes.ACCESS_PACKAGE),
                    "user": attributes.get(search_attributes.TARGET_USER),
                    "requestor": attributes.get(search_attributes.REQUESTOR),
                    "state": attributes.get(search_attributes.REQUEST_STATE),
                    "end": attributes.get(search_attributes.ACCESS_END_TIME),
                    "started": execution.start_time,
                }
            )
        return rows

    async def pending_for(self, approver: str) -> list[dict]:
        """The requests this person may decide now (escalations included)."""
        return await self.list_requests(
            approver=approver, state=RequestState.PENDING_APPROVAL.value, running_only=True
        )

    def _handle(self, request_id: str) -> WorkflowHandle:
        request_id = check_name("the request id", request_id)
        if not request_id.startswith(REQUEST_ID_PREFIX):
            # Another workflow's id (a user's access, an intake, a review) names no request.
            raise RequestRefused(
                Rule.NOT_FOUND,
                f"no request '{request_id}' (request ids are {REQUEST_ID_PREFIX}PACKAGE:USER)",
            )
        return self.client.get_workflow_handle_for(AccessRequestWorkflow.run, request_id)

    async def _update(self, request_id: str, update, *args):
        try:
            return await self._handle(request_id).execute_update(update, *args)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == REFUSAL_ERROR_TYPE:
                rule = cause.details[0] if cause.details else None
                raise RequestRefused(_rule(rule), cause.message) from None
            raise
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            raise await self._ended_or_unknown(request_id) from None

    async def _ended_or_unknown(self, request_id: str) -> RequestRefused:
        """An update to a closed workflow answers "not found": say which it is."""
        try:
            status = await self.status(request_id)
        except RequestRefused as unknown:
            return unknown
        return RequestRefused(
            Rule.NOT_PENDING, f"request '{request_id}' has ended: it is {status.state.value}"
        )


def _literal(value: str) -> str:
    value = check_name("a filter value", value)
    if "'" in value or "\\" in value:
        raise RequestRefused(Rule.TEXT_INVALID, f"a filter value cannot contain quotes: {value!r}")
    return f"'{value}'"


def request_query(
    *,
    package: str | None = None,
    user: str | None = None,
    state: str | None = None,
    approver: str | None = None,
    running_only: bool = False,
) -> str:
    """The visibility query an operator would type in the Temporal UI for these filters."""
    clauses = [f"WorkflowType = '{AccessRequestWorkflow.__name__}'"]
    if running_only:
        clauses.append("ExecutionStatus = 'Running'")
    if package:
        clauses.append(f"{search_attributes.ACCESS_PACKAGE.name} = {_literal(package)}")
    if user:
        clauses.append(f"{search_attributes.TARGET_USER.name} = {_literal(user.strip().lower())}")
    if state:
        clauses.append(f"{search_attributes.REQUEST_STATE.name} = {_literal(state)}")
    if approver:
        name = search_attributes.PENDING_APPROVERS.name
        clauses.append(f"{name} = {_literal(approver.strip().lower())}")
    return " AND ".join(clauses)


def _optional(check, what: str, value: str | None) -> str | None:
    return None if value is None else check(what, value)


def _text(what: str, value: str | None) -> str | None:
    """Free text is checked as the worker will check it, and sent as typed."""
    check_text(what, value)
    return value


def _answers(answers: dict[str, str]) -> dict[str, str]:
    for question, answer in answers.items():
        check_name("a question id", question)
        _text(f"the answer to '{question}'", answer)
    return answers


def _rule(value: object) -> Rule:
    try:
        return Rule(value)
    except ValueError:
        return Rule.NOT_PENDING


def _not_found(request_id: str, error: RPCError) -> Exception:
    if error.status == RPCStatusCode.NOT_FOUND:
        return RequestRefused(Rule.NOT_FOUND, f"no request '{request_id}'")
    if error.status == RPCStatusCode.FAILED_PRECONDITION:  # the workflow has ended
        return RequestRefused(Rule.NOT_PENDING, f"request '{request_id}' has ended")
    return error
