"""`accessctl assign --csv` as an administrator runs it: the command in a subprocess, talking to
the time-skipping server, with a worker of the real workflows and activities in this process
against the Graph emulator. Exit codes: 0 every row assigned or already assigned, 1 a row not
assigned or the whole file refused, 2 usage."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from starter.cli import app
from tests.cli_process import accessctl
from tests.factories import (
    ADMIN,
    ALICE,
    BOB,
    ERIN,
    FINANCE_READ,
    GRACE,
    example_catalog,
    group_members,
    load,
    running_worker,
)

NOBODY_ID = "00000000-0000-4000-8000-00000000dead"


async def test_assign_a_file_writes_the_report_and_json(time_env, graph, task_queue, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text(
        f"DisplayName,UserPrincipalName\nAlice,{ALICE}\nErin,{ERIN}\nNobody,{NOBODY_ID}\n"
        f"Alice again,{ALICE.upper()}\nGrace,{GRACE}\n"
    )
    report = tmp_path / "out" / "assigned.csv"
    report.parent.mkdir()
    async with running_worker(
        time_env.client, graph, load(example_catalog()), task_queue
    ) as access:
        await access.assign("finance-write", GRACE, admin=ADMIN)
        code, stdout, stderr = await accessctl(
            time_env, task_queue, "assign", "finance-write", "--csv", str(people),
            "--as", ADMIN, "--report", str(report),
        )  # fmt: skip
        assert code == 1, stderr  # two rows were not assigned
        assert "ignored column(s): DisplayName" in stderr
        assert "5 rows: 2 assigned, 1 already assigned, 1 refused, 1 invalid, 0 failed" in stdout
        rows = list(csv.DictReader(report.open()))
        assert [(r["line"], r["user"], r["status"]) for r in rows] == [
            ("2", ALICE, "assigned"),
            ("3", ERIN, "assigned"),
            ("4", NOBODY_ID, "refused"),
            ("5", ALICE.upper(), "invalid"),
            ("6", GRACE, "alreadyAssigned"),
        ]
        assert rows[0]["requestId"] == f"access:finance-write:{ALICE}"
        assert rows[2]["error"].startswith("[unknownUser] the target")
        assert rows[3]["error"] == "duplicate of line 2"
        assert rows[4]["error"].startswith("[openRequestExists]")

        # The same file again: everyone assigned is now already assigned; JSON has every row.
        code, stdout, _ = await accessctl(
            time_env, task_queue, "assign", "finance-write", "--csv", str(people),
            "--as", ADMIN, "--report", str(report), "--json",
        )  # fmt: skip
        again = json.loads(stdout)
        assert code == 1
        assert (again["assigned"], again["already_assigned"], again["report"]) == (
            0,
            3,
            str(report),
        )
        assert [r["status"] for r in again["rows"]] == [
            "alreadyAssigned",
            "alreadyAssigned",
            "refused",
            "invalid",
            "alreadyAssigned",
        ]
    assert {ALICE, ERIN} <= group_members(graph, FINANCE_READ, "owners")


async def test_a_file_of_good_rows_exits_0_and_a_non_administrator_assigns_nothing(
    time_env, graph, task_queue, tmp_path
):
    people = tmp_path / "people.csv"
    people.write_text(f"Email\n{BOB}\n")
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue):
        code, stdout, stderr = await accessctl(
            time_env, task_queue, "assign", "finance-write", "--csv", str(people), "--as", ERIN
        )
        assert code == 1
        assert f"{ERIN} is not an entitlement management administrator" in stderr
        assert "[notAdministrator]" in stderr
        assert not (tmp_path / "people.report.csv").exists()

        code, stdout, stderr = await accessctl(
            time_env, task_queue, "assign", "finance-write", "--csv", str(people), "--as", ADMIN
        )
        assert code == 0, stderr
        assert "1 rows: 1 assigned" in stdout
        [row] = list(csv.DictReader((tmp_path / "people.report.csv").open()))
        assert (row["user"], row["status"]) == (BOB, "assigned")


def test_usage_errors_exit_2_and_say_why(tmp_path):
    """Refused before anything connects (typer's runner, in this process)."""
    no_user_column = tmp_path / "people.csv"
    no_user_column.write_text("Name,Department\nAnn,Sales\n")
    good = tmp_path / "good.csv"
    good.write_text(f"User\n{BOB}\n")
    for args, why in (
        (["--as", ADMIN], "give one user with --for, or --csv FILE"),
        (["--for", BOB, "--csv", str(good), "--as", ADMIN], "give one user with --for"),
        (["--for", BOB, "--as", ADMIN, "--report", "r.csv"], "--report goes with --csv"),
        (["--csv", str(no_user_column), "--as", ADMIN], "no user column"),
        (["--csv", str(good), "--as", ADMIN, "--end", "2027-01-01"], "needs a time zone"),
    ):
        result = CliRunner().invoke(app, ["assign", "finance-write", *args])
        assert result.exit_code == 2, (args, result.output)
        assert why in " ".join(result.output.replace("│", " ").split()), (args, result.output)
