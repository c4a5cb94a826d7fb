"""Invitations (new guest, existing user, bad address, blocked domain) and sendMail + outbox."""

from __future__ import annotations

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.invitation import Invitation
from msgraph.generated.models.invited_user_message_info import InvitedUserMessageInfo
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
    SendMailPostRequestBody,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

GRACE = "00000000-0000-4000-8000-00000006ace0"


def invitation(address: str, send: bool = False, text: str | None = None) -> Invitation:
    return Invitation(
        invited_user_email_address=address,
        invited_user_display_name="Ann Example",
        invite_redirect_url="https://myapps.contoso.example",
        send_invitation_message=send,
        invited_user_message_info=InvitedUserMessageInfo(customized_message_body=text),
    )


async def test_invite_new_guest(graph, control):
    answer = await graph.invitations.post(invitation("ann@fabrikam.example"))
    assert answer.status == "PendingAcceptance"
    assert answer.invited_user_email_address == "ann@fabrikam.example"
    assert answer.invite_redeem_url.startswith("https://")
    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
        select=["id", "userType", "userPrincipalName", "mail", "otherMails", "accountEnabled"]
    )
    user = await graph.users.by_user_id(answer.invited_user.id).get(
        RequestConfiguration(query_parameters=query)
    )
    assert user.user_type == "Guest" and user.account_enabled is True
    assert user.user_principal_name == "ann_fabrikam.example#EXT#@contoso.onmicrosoft.example"
    assert user.mail == "ann@fabrikam.example" and user.other_mails == ["ann@fabrikam.example"]
    assert control.outbox() == []  # sendInvitationMessage false: no mail


async def test_invite_existing_address_returns_same_user(graph, control):
    first = await graph.invitations.post(invitation("ann@fabrikam.example"))
    again = await graph.invitations.post(invitation("ANN@fabrikam.example"))
    assert again.invited_user.id == first.invited_user.id
    seeded = await graph.invitations.post(invitation("grace@fabrikam.example"))
    assert seeded.invited_user.id == GRACE


async def test_invitation_message_goes_to_outbox(graph, control):
    await graph.invitations.post(invitation("bo@northwind.example", send=True, text="Welcome!"))
    [mail] = control.outbox(to="bo@northwind.example")
    assert mail["kind"] == "invitation"
    assert "Welcome!" in mail["body"] and "Contoso" in mail["subject"]


async def test_invite_bad_address(graph, control):
    with pytest.raises(ODataError) as err:
        await graph.invitations.post(invitation("not-an-address"))
    assert err.value.response_status_code == 400
    assert err.value.error.code == "BadRequest"


async def test_invite_blocked_domain(graph, control):
    control.set_b2b_policy(blocked_domains=["competitor.example"])
    with pytest.raises(ODataError) as err:
        await graph.invitations.post(invitation("eve@competitor.example"))
    assert err.value.response_status_code == 400
    assert "competitor.example" in err.value.error.message
    # An allow list admits only its domains.
    control.set_b2b_policy(allowed_domains=["fabrikam.example"])
    with pytest.raises(ODataError):
        await graph.invitations.post(invitation("bo@northwind.example"))
    await graph.invitations.post(invitation("ann@fabrikam.example"))


def mail(to: list[str], subject: str = "Access delivered") -> SendMailPostRequestBody:
    return SendMailPostRequestBody(
        message=Message(
            subject=subject,
            body=ItemBody(content_type=BodyType.Html, content="<p>You now have access.</p>"),
            to_recipients=[Recipient(email_address=EmailAddress(address=a)) for a in to],
        ),
        save_to_sent_items=False,
    )


async def test_send_mail_lands_in_outbox(graph, control):
    await graph.users.by_user_id("access@contoso.example").send_mail.post(
        mail(["alice@contoso.example", "bob@contoso.example"])
    )
    [sent] = control.outbox()
    assert sent["from"] == "access@contoso.example"
    assert sent["toRecipients"] == ["alice@contoso.example", "bob@contoso.example"]
    assert sent["subject"] == "Access delivered"
    assert sent["contentType"] == "html" and sent["body"] == "<p>You now have access.</p>"
    assert sent["sentDateTime"] and sent["time"] > 0
    assert control.log(method="POST")[-1]["status"] == 202
    control.clear_outbox()
    assert control.outbox() == []


async def test_send_mail_from_unknown_mailbox(graph, control):
    with pytest.raises(ODataError) as err:
        await graph.users.by_user_id("ghost@contoso.example").send_mail.post(
            mail(["alice@contoso.example"])
        )
    assert err.value.response_status_code == 404
    assert err.value.error.code == "ErrorInvalidUser"


async def test_send_mail_without_recipients(graph, control):
    with pytest.raises(ODataError) as err:
        await graph.users.by_user_id("access@contoso.example").send_mail.post(mail([]))
    assert err.value.response_status_code == 400
    assert err.value.error.code == "ErrorInvalidRecipients"
