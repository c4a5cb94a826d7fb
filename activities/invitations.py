"""Inviting one external user, as the invitation workflows ask: on the worker, which holds the
Graph credentials and the catalog, so the domain allow/deny lists checked are the current ones.

Idempotent per address: a user already in the directory (invited before, by anyone, or by an
earlier attempt of this very activity) is given back as `existing` and nothing is written.
Throttling and outages are raised for Temporal to retry at Graph's pace (activities.graph_errors);
a permanent refusal by Graph becomes a `failed` result, not an error, so a bulk run records it
and goes on.

Register with a worker: `Worker(..., activities=InvitationActivities(catalog, directory).all())`.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.directory import DirectoryActivities
from activities.directory_models import FindUserInput, InviteGuestInput
from entitlements.catalog import CatalogFile
from entitlements.invitations import (
    INVITE_EXTERNAL_USER,
    InvalidAddress,
    Invitation,
    InvitationResult,
    InvitationStatus,
    invalid_redirect_url,
    result_error,
    valid_address,
)
from entitlements.refusals import Rule


class InvitationActivities:
    def __init__(self, catalog: CatalogFile, directory: DirectoryActivities) -> None:
        self.catalog = catalog
        self.directory = directory

    def all(self) -> list:
        return [self.invite_external_user]

    @activity.defn(name=INVITE_EXTERNAL_USER)
    async def invite_external_user(self, invitation: Invitation) -> InvitationResult:
        """POST /invitations for one address, unless a rule refuses it or the user exists."""
        try:
            address = valid_address(invitation.email)
        except InvalidAddress as error:
            return result_error(
                invitation, InvitationStatus.INVALID, str(error), Rule.INVALID_EMAIL
            )
        settings = self.catalog.settings.invitations
        refusal = settings.refusal_for(address)
        if refusal:
            return result_error(
                invitation,
                InvitationStatus.FAILED,
                f"{address} cannot be invited: {refusal}",
                Rule.INVITATION_DOMAIN,
            )
        redirect = invitation.redirect_url or settings.invite_redirect_url
        if problem := invalid_redirect_url(redirect):
            return result_error(invitation, InvitationStatus.INVALID, f"redirect URL {problem}")
        try:
            existing = await self.directory.find_user(FindUserInput(email=address))
            if existing is not None:
                return InvitationResult(
                    email=invitation.email,
                    line=invitation.line,
                    status=InvitationStatus.EXISTING,
                    object_id=existing.id,
                )
            guest = await self.directory.invite_guest(
                InviteGuestInput(
                    email=address,
                    display_name=invitation.display_name,
                    redirect_url=redirect,
                    send_invitation_message=(
                        settings.send_invitation_message
                        if invitation.send_mail is None
                        else invitation.send_mail
                    ),
                    message=invitation.message,
                )
            )
        except ApplicationError as error:
            if not error.non_retryable:
                raise  # throttled or unavailable: Temporal retries at Graph's pace
            return result_error(invitation, InvitationStatus.FAILED, error.message)
        return InvitationResult(
            email=invitation.email,
            line=invitation.line,
            status=InvitationStatus.INVITED,
            object_id=guest.id,
            redeem_url=guest.invite_redeem_url,
        )
