"""Reading direct-assignment CSV files: the user by any of the column names people have (an
Entra user export included), an optional end per row, every bad row reported with its line and
reason while the good ones are kept, and the report an administrator opens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from entitlements.bulk_assignment import (
    AssignmentCsvError,
    AssignmentResult,
    AssignmentRow,
    AssignmentStatus,
    assignment_report_csv,
    parse_assignment_csv,
)
from entitlements.refusals import Rule


@pytest.mark.parametrize("heading", ["UserPrincipalName", "Email", "User", "ObjectId", "mail"])
def test_the_user_column_by_any_of_its_names(heading):
    parsed = parse_assignment_csv(f"{heading}\nann@contoso.example\n")
    assert parsed.rows == [AssignmentRow(user="ann@contoso.example", line=2)]


def test_an_entra_user_export_assigns_by_object_id_and_ignores_the_rest():
    parsed = parse_assignment_csv(
        "id,displayName,userPrincipalName,mail\n"
        "0001,Ann,ann@contoso.example,ann@contoso.example\n"
        ",Ben,ben@contoso.example,\n"  # no id: the next column given
    )
    assert [r.user for r in parsed.rows] == ["0001", "ben@contoso.example"]
    assert parsed.ignored_columns == ["displayName"]


def test_an_end_per_row_with_its_time_zone():
    parsed = parse_assignment_csv(
        "User,End\nann@contoso.example,2027-01-31T17:00:00+01:00\nben@contoso.example,\n"
    )
    ann, ben = parsed.rows
    assert ann.end == datetime(2027, 1, 31, 16, 0, tzinfo=UTC)
    assert ben.end is None  # the run's end


def test_bad_rows_are_reported_with_their_line_and_the_good_ones_kept():
    text = (
        "UserPrincipalName,End\n"
        "ann@contoso.example,\n"  # 2 good
        ",2027-01-01T00:00:00Z\n"  # 3 no user
        "ben@contoso.example,soon\n"  # 4
        "cat@contoso.example,2027-01-01\n"  # 5 no time zone
        "ANN@contoso.example,\n"  # 6 duplicate of 2
        "dan@contoso.example\n"  # 7 missing column
        "eve@contoso.example,,extra\n"  # 8
        "\n"
        "fay@contoso.example,2027-01-01T00:00:00Z\n"  # 10 good
        "gus\x07@contoso.example,\n"  # 11 a control character
    )
    parsed = parse_assignment_csv(text)
    assert [(r.line, r.user) for r in parsed.rows] == [
        (2, "ann@contoso.example"),
        (10, "fay@contoso.example"),
    ]
    found = {r.line: r.error for r in parsed.rejected}
    assert found == {
        3: "missing user (UserPrincipalName)",
        4: "end 'soon' is not an ISO 8601 date and time",
        5: "end '2027-01-01' needs a time zone (e.g. Z or +01:00)",
        6: "duplicate of line 2",
        7: "missing column(s) End: 1 of 2 values",
        8: "3 values for 2 columns (a comma in an unquoted value?)",
        11: "the user contains the control character U+0007",
    }
    rejected = {r.line: r for r in parsed.rejected}
    assert rejected[6].user == "ANN@contoso.example"  # as written, for the report
    assert {r.status for r in parsed.rejected} == {AssignmentStatus.INVALID}
    assert parsed.total == 9


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "empty"),
        ("Name,Department\nAnn,Sales\n", "no user column"),
        ("User,Email\na@b.example,a@b.example\n", None),  # two names of a user: allowed
        ("User,user\na@b.example,a@b.example\n", "more than one column for user"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(text, expected):
    if expected is None:
        assert len(parse_assignment_csv(text).rows) == 1
        return
    with pytest.raises(AssignmentCsvError, match=expected):
        parse_assignment_csv(text)


def test_report_has_one_line_per_row_in_file_order_with_request_or_error():
    report = assignment_report_csv(
        [
            AssignmentResult(
                user="x",
                line=3,
                status=AssignmentStatus.REFUSED,
                rule=Rule.UNKNOWN_USER,
                error="the target 'x' is not a user of this directory",
            ),
            AssignmentResult(
                user="ann@contoso.example",
                line=2,
                status=AssignmentStatus.ASSIGNED,
                request_id="access:p:ann@contoso.example",
            ),
        ]
    )
    assert report.splitlines() == [
        "line,user,status,requestId,error",
        "2,ann@contoso.example,assigned,access:p:ann@contoso.example,",
        "3,x,refused,,[unknownUser] the target 'x' is not a user of this directory",
    ]
