"""`accessctl invite` as a person runs it: the command in a subprocess, talking to the
time-skipping server, with a worker of the real workflows and activities in this process
against the Graph emulator. Exit codes: 0 done, 1 refused or a row not invited, 2 usage."""

from __future__ import annotations

import csv
import json

from tests.cli_process import accessctl
from tests.factories import example_catalog, load, running_worker


def mails(graph) -> set[str]:
    return {(u.get("mail") or "").lower() for u in graph.control.state()["users"]}


async def test_invite_one_guest_and_a_refused_domain(time_env, graph, task_queue):
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue):
        code, stdout, _ = await accessctl(
            time_env, task_queue, "invite", "ann@partner.example", "--name", "Ann", "--json"
        )
        assert code == 0, (stdout, _)
        guest = json.loads(stdout)
        assert (guest["status"], guest["email"]) == ("invited", "ann@partner.example")
        assert "ann@partner.example" in mails(graph)

        code, stdout, stderr = await accessctl(
            time_env, task_queue, "invite", "x@competitor.example"
        )
        assert code == 1
        assert "[invitationDomain]" in stderr and "deny list" in stderr
        assert "x@competitor.example" not in mails(graph)


async def test_invite_a_file_writes_the_report(time_env, graph, task_queue, tmp_path):
    source = tmp_path / "guests.csv"
    source.write_text(
        "version:v1.0\n"
        "Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL] "
        "Required,Send invitation message (true or false) [sendEmail],Customized invitation "
        "message [customizedMessageBody]\n"
        "ann@partner.example,https://myapps.microsoft.com,true,Hello Ann\n"
        "grace@fabrikam.example,,,\n"
        "not-an-address,,,\n"
        "spy@competitor.example,,,\n"
    )
    async with running_worker(time_env.client, graph, load(example_catalog()), task_queue):
        code, stdout, stderr = await accessctl(time_env, task_queue, "invite", "--csv", str(source))
    assert code == 1, stderr  # two rows were not invited
    assert "4 rows: 1 invited, 1 existing, 1 failed, 1 invalid" in stdout
    report = list(csv.DictReader((tmp_path / "guests.report.csv").open()))
    assert [(r["line"], r["email"], r["status"]) for r in report] == [
        ("3", "ann@partner.example", "invited"),
        ("4", "grace@fabrikam.example", "existing"),
        ("5", "not-an-address", "invalid"),
        ("6", "spy@competitor.example", "failed"),
    ]
    assert report[0]["objectId"] and report[1]["objectId"]
    assert "not a valid email address" in report[2]["error"]
    assert report[3]["error"].startswith("[invitationDomain]")
    [mail] = graph.control.outbox(to="ann@partner.example")
    assert "Hello Ann" in mail["body"]


async def test_usage_errors_exit_2_and_say_why(time_env, task_queue, tmp_path):
    no_email_column = tmp_path / "people.csv"
    no_email_column.write_text("Email,Name\nann@partner.example,Ann\n")
    for args, why in (
        (["invite"], "give one EMAIL, or --csv FILE"),
        (["invite", "ann@partner.example", "--csv", str(no_email_column)], "give one EMAIL"),
        (["invite", "--csv", str(no_email_column)], "no email column"),
        (["invite", "a@partner.example", "--redirect-url", "nowhere"], "not an http(s) URL"),
    ):
        code, _, stderr = await accessctl(time_env, task_queue, *args)
        assert code == 2, (args, stderr)
        assert why in " ".join(stderr.replace("│", " ").split()), (args, stderr)
