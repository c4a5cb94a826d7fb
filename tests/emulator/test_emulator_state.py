"""State: the seed file's validation, persistence to a state file across restarts, reset,
the state dump, and the command line."""

from __future__ import annotations

import pytest
import yaml
from msgraph.generated.models.invitation import Invitation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from pydantic import ValidationError

from activities.graph_client import GraphSettings, build_graph_client
from graph_emulator.__main__ import parse_args
from graph_emulator.directory import Directory
from graph_emulator.seed import TenantSeed, default_seed_path, load_seed
from graph_emulator.server import EmulatorServer


def invitation(address: str) -> Invitation:
    return Invitation(
        invited_user_email_address=address, invite_redirect_url="https://myapps.example"
    )


async def test_state_file_survives_a_restart_and_reset_reseeds(tmp_path):
    state_file = tmp_path / "graph-state.json"
    async with EmulatorServer(state_file=state_file) as first:
        graph = build_graph_client(GraphSettings(base_url=first.base_url))
        answer = await graph.invitations.post(invitation("ann@fabrikam.example"))
        guest_id = answer.invited_user.id
        await graph.request_adapter._http_client.aclose()
    assert state_file.exists()

    async with EmulatorServer(state_file=state_file) as second:
        graph = build_graph_client(GraphSettings(base_url=second.base_url))
        try:
            user = await graph.users.by_user_id(guest_id).get()
            assert user.mail == "ann@fabrikam.example"
            second.control.reset()
            with pytest.raises(ODataError) as err:
                await graph.users.by_user_id(guest_id).get()
            assert err.value.response_status_code == 404
        finally:
            await graph.request_adapter._http_client.aclose()


def test_state_dump_shows_the_directory(emulator_server, control):
    state = control.state()
    assert state["tenant"]["displayName"] == "Contoso"
    alice = next(u for u in state["users"] if u["userPrincipalName"] == "alice@contoso.example")
    assert alice["_managerId"] == "00000000-0000-4000-8000-000000000b0b"
    approvers = next(g for g in state["groups"] if g["displayName"] == "Finance Approvers")
    assert len(approvers["_members"]) == 2
    assert control.health()["status"] == "ok"


def test_example_seed_loads():
    seed = load_seed(default_seed_path())
    assert seed.tenant.initialDomain == "contoso.onmicrosoft.example"
    grace = next(u for u in seed.users if u.userType == "Guest")
    assert grace.accountEnabled is True and grace.otherMails == ["grace@fabrikam.example"]


def test_seed_rejects_unknown_fields_and_references(tmp_path):
    raw = yaml.safe_load(default_seed_path().read_text())
    raw["users"][0]["shoeSize"] = 44
    with pytest.raises(ValidationError):
        TenantSeed.model_validate(raw)

    raw = yaml.safe_load(default_seed_path().read_text())
    raw["groups"][0]["members"] = ["nobody@contoso.example"]
    with pytest.raises(ValueError, match="nobody@contoso.example"):
        Directory.from_seed(TenantSeed.model_validate(raw))


def test_command_line_defaults():
    args = parse_args([])
    assert (args.tenant, args.host, args.port) == ("examples/tenant.yaml", "127.0.0.1", 8900)
    assert args.state_file is None and args.latency_ms == 0
    args = parse_args(["--port", "9000", "--state-file", "s.json", "--latency-ms", "50"])
    assert (args.port, args.state_file, args.latency_ms) == (9000, "s.json", 50)
