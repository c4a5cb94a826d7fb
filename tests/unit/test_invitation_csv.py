"""Reading invitation CSV files: this project's columns and Entra's bulk-invite template, every
bad row reported with its line and reason while the good ones are kept, and a 5,000-row file
that still fits in one Temporal payload."""

from __future__ import annotations

import pytest

from entitlements.invitations import (
    BulkInvitationInput,
    BulkInvitationResult,
    Invitation,
    InvitationCsvError,
    InvitationResult,
    InvitationStatus,
    parse_invitation_csv,
    report_csv,
    result_error,
)
from entitlements.refusals import Rule

ENTRA_HEADER = (
    "Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL] "
    "Required,Send invitation message (true or false) [sendEmail],Customized invitation message "
    "[customizedMessageBody]"
)


def problems(text: str) -> dict[int, str]:
    return {r.line: r.error for r in parse_invitation_csv(text).rejected}


def test_project_columns_give_address_name_and_redirect():
    parsed = parse_invitation_csv(
        "UserPrincipalName,DisplayName,InviteRedirectUrl\n"
        "Ann@Partner.Example,Ann Lee,https://apps.contoso.example/welcome\n"
        "ben@partner.example,,\n"
    )
    assert parsed.rejected == []
    assert parsed.rows == [
        Invitation(
            email="ann@partner.example",
            line=2,
            display_name="Ann Lee",
            redirect_url="https://apps.contoso.example/welcome",
        ),
        Invitation(email="ben@partner.example", line=3),
    ]


def test_entra_template_with_its_version_line():
    parsed = parse_invitation_csv(
        "\ufeffversion:v1.0,,,\n"
        f"{ENTRA_HEADER}\n"
        "ann@partner.example,https://myapps.microsoft.com,true,Welcome aboard\n"
        "ben@partner.example,https://myapps.microsoft.com,FALSE,\n"
        "cat@partner.example,,,\n"
    )
    assert parsed.rejected == []
    ann, ben, cat = parsed.rows
    assert (ann.line, ann.email, ann.redirect_url, ann.send_mail, ann.message) == (
        3,
        "ann@partner.example",
        "https://myapps.microsoft.com",
        True,
        "Welcome aboard",
    )
    assert (ben.send_mail, ben.message) == (False, None)
    assert (cat.redirect_url, cat.send_mail) == (None, None)  # the catalog settings decide


def test_entra_headings_as_the_brief_names_them():
    parsed = parse_invitation_csv(
        "version:v1.0\n"
        "Email address to invite,Redirection url,Send invitation message (true or false),"
        "Customized invitation message\n"
        "ann@partner.example,https://myapps.microsoft.com,true,Hello\n"
    )
    assert [(r.email, r.send_mail, r.message) for r in parsed.rows] == [
        ("ann@partner.example", True, "Hello")
    ]


def test_bad_rows_are_reported_with_their_line_and_the_good_ones_kept():
    text = (
        "UserPrincipalName,DisplayName,InviteRedirectUrl\n"
        "ann@partner.example,Ann,\n"  # 2 good
        "not-an-address,Nobody,\n"  # 3
        "zed@partner.example\n"  # 4 missing columns
        ",Blank,\n"  # 5 no address
        "ANN@partner.example,Ann again,\n"  # 6 duplicate of 2
        "dan@partner.example,Lee, Dan,\n"  # 7 an unquoted comma
        "eve@partner.example,Eve,ftp://files.example\n"  # 8 not http(s)
        '"fay@partner.example","Fay, F.",https://apps.example\n'  # 9 good, quoted comma
        "\n"  # blank lines are skipped
        "gus@partner,Gus,\n"  # 11
    )
    parsed = parse_invitation_csv(text)
    assert [r.email for r in parsed.rows] == ["ann@partner.example", "fay@partner.example"]
    assert parsed.rows[1].display_name == "Fay, F."
    found = problems(text)
    assert sorted(found) == [3, 4, 5, 6, 7, 8, 11]
    assert "not a valid email address" in found[3]
    assert found[4].startswith("missing column(s) DisplayName, InviteRedirectUrl")
    assert found[5] == "missing email address (UserPrincipalName)"
    assert found[6] == "duplicate of line 2"
    assert "4 values for 3 columns" in found[7]
    assert "not an http(s) URL" in found[8]
    assert "not a valid email address" in found[11]
    rejected = {r.line: r for r in parsed.rejected}
    assert rejected[6].email == "ANN@partner.example"  # as written, for the report
    assert {r.status for r in parsed.rejected} == {InvitationStatus.INVALID}
    assert parsed.total == 9


def test_send_flag_must_be_true_or_false():
    found = problems(f"version:v1.0\n{ENTRA_HEADER}\nann@partner.example,,maybe,\n")
    assert found == {3: "send invitation message must be true or false, not 'maybe'"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "empty"),
        ("version:v1.0\n", "empty"),
        ("Email,Name\nann@partner.example,Ann\n", "no email column"),
        ("UserPrincipalName,Email address to invite\na@b.example,a@b.example\n", "more than one"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(text, expected):
    with pytest.raises(InvitationCsvError, match=expected):
        parse_invitation_csv(text)


def test_unknown_columns_are_named_not_silently_dropped():
    parsed = parse_invitation_csv("UserPrincipalName,DisplayNmae\nann@partner.example,Ann\n")
    assert parsed.ignored_columns == ["DisplayNmae"]
    assert parsed.rows[0].display_name is None


def test_report_has_one_line_per_row_in_file_order_with_id_or_error():
    denied = "b@x.example cannot be invited: deny list"
    report = report_csv(
        [
            InvitationResult(
                email="b@x.example",
                line=3,
                status="failed",
                rule=Rule.INVITATION_DOMAIN,
                error=denied,
            ),
            InvitationResult(email="a@x.example", line=2, status="invited", object_id="id-a"),
            InvitationResult(email="bad", line=4, status="invalid", error="not valid"),
        ]
    )
    assert report.splitlines() == [
        "line,email,status,objectId,error",
        "2,a@x.example,invited,id-a,",
        "3,b@x.example,failed,,[invitationDomain] b@x.example cannot be invited: deny list",
        "4,bad,invalid,,not valid",
    ]


def test_five_thousand_rows_fit_in_a_temporal_payload_at_every_stage():
    rows = "".join(
        f"guest.number{i:05d}@partner-organisation.example,Guest Number {i:05d},"
        f"https://myapps.contoso.example/welcome?from=partners\n"
        for i in range(5000)
    )
    parsed = parse_invitation_csv(f"UserPrincipalName,DisplayName,InviteRedirectUrl\n{rows}")
    assert len(parsed.rows) == 5000
    start = parsed.bulk_input("guests.csv")
    assert len(start.model_dump_json()) < 1_500_000
    # The heaviest continue-as-new is the last (every result but one page's), and the
    # result; both with every row failed with a long error (cut to MAX_ERROR_CHARS).
    failure = "invite_guest: BadRequest: " + "x" * 2000
    results = [result_error(r, InvitationStatus.FAILED, failure) for r in parsed.rows]
    assert all(len(r.error) <= 200 for r in results)
    last = BulkInvitationInput(rows=parsed.rows[-100:], results=results[:-100], total=5000)
    assert len(last.model_dump_json()) < 1_800_000
    end = BulkInvitationResult(rows=results)
    assert len(end.model_dump_json()) < 1_800_000
