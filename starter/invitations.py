"""InvitationClient: inviting external users as guests, one or a CSV file's worth.

The client holds no Graph credentials and no catalog: every invitation runs as a workflow on
the worker, which checks the catalog's current domain lists and calls Graph.

    invitations = InvitationClient.of(await AccessClient.connect())
    guest = await invitations.invite("ann@partner.example", display_name="Ann")
    handle = await invitations.start_bulk(parse_invitation_csv(text), source="guests.csv")
    await invitations.progress(handle.id)      # BulkInvitationProgress
    result = await invitations.result(handle.id)  # BulkInvitationResult, every row
"""

from __future__ import annotations

from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from entitlements.invitations import (
    BulkInvitationProgress,
    BulkInvitationResult,
    InvalidAddress,
    Invitation,
    InvitationResult,
    InvitationStatus,
    ParsedInvitations,
    bulk_workflow_id,
    invalid_redirect_url,
    valid_address,
)
from entitlements.refusals import RequestRefused, Rule
from starter.bulk_runs import BulkRunClient
from workflows.bulk_invitation import BulkInvitationWorkflow, InviteGuestWorkflow


class InvitationFailed(RuntimeError):
    """Graph refused the invitation (or it could not be sent in time); `result` says why."""

    def __init__(self, result: InvitationResult) -> None:
        super().__init__(f"{result.email} was not invited: {result.error}")
        self.result = result


class InvitationClient(BulkRunClient[BulkInvitationProgress, BulkInvitationResult]):
    workflow = BulkInvitationWorkflow

    async def invite(
        self,
        email: str,
        *,
        display_name: str | None = None,
        redirect_url: str | None = None,
        message: str | None = None,
        send_mail: bool | None = None,
    ) -> InvitationResult:
        """Invite one guest; an address already in the directory gives that user back
        (`status == existing`). Refused (`RequestRefused`, nothing written) for a malformed
        address or a domain the settings deny or do not allow; `InvitationFailed` when Graph
        refuses. `redirect_url` and `send_mail` default to the catalog's invitation settings."""
        try:
            address = valid_address(email)
        except InvalidAddress as error:
            raise RequestRefused(Rule.INVALID_EMAIL, str(error)) from None
        if redirect_url and (problem := invalid_redirect_url(redirect_url)):
            raise ValueError(f"redirect URL {problem}")
        invitation = Invitation(
            email=address,
            display_name=display_name,
            redirect_url=redirect_url,
            message=message,
            send_mail=send_mail,
        )
        result = await self.client.execute_workflow(
            InviteGuestWorkflow.run,
            invitation,
            id=f"invite:{address}",
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Invite {display_name + ' ' if display_name else ''}<{address}>",
        )
        if result.rule is not None:
            raise RequestRefused(result.rule, result.error or "refused")
        if result.status not in (InvitationStatus.INVITED, InvitationStatus.EXISTING):
            raise InvitationFailed(result)
        return result

    async def start_bulk(
        self,
        parsed: ParsedInvitations,
        *,
        source: str = "",
        workflow_id: str | None = None,
        page_size: int = 100,
        concurrency: int = 10,
    ) -> WorkflowHandle:
        """Start inviting a parsed file's rows (invalid rows go into the result as they are).
        The same content started again while it runs joins the running workflow.
        `TooLarge`: split the file."""
        inp = parsed.bulk_input(source, page_size=page_size, concurrency=concurrency)
        name = f" from {source}" if source else ""
        return await self._start_run(
            inp,
            rows=parsed.total,
            workflow_id=workflow_id or bulk_workflow_id(inp),
            summary=f"Invite {parsed.total:,} guests{name}",
        )
