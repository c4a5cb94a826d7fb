"""Bad input against AccessClient on the time-skipping server, with the real workflows,
activities and Graph emulator: hostile people, ids and text, answers failing their pattern,
decisions and actions by the wrong person or at the wrong time, extensions past the policy's
end. Each is refused with its rule and a message naming what is wrong, and the world is the
same afterwards: both requests' status and audit trail, and not one directory write."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st

from entitlements.refusals import RequestRefused, Rule
from entitlements.status import RequestState
from tests.factories import ADMIN, ALICE, BOB, CAROL, DANA, ERIN, FRANK, GRACE
from tests.hostile import hostile_email, hostile_request_id, hostile_text
from tests.waiting import wait_for
from tests.workflows.bad_input_world import CORPUS, GOOD_ANSWERS, bad_input_world, mailed

PACKAGES = {"finance-reports", "finance-write", "sales-team"}
ALICE_ID = "00000000-0000-4000-8000-0000000a11ce"


@pytest_asyncio.fixture
async def world(time_env, graph, task_queue):
    async with bad_input_world(time_env, graph, task_queue) as built:
        yield built


async def refused_and_unchanged(world, call, rules: set[Rule]) -> RequestRefused:
    before = await world.snapshot()
    with pytest.raises(RequestRefused) as refusal:
        await call()
    assert refusal.value.rule in rules, refusal.value
    assert refusal.value.message.strip()
    assert await world.snapshot() == before
    return refusal.value


def spelled(person: str, object_id: str | None = None) -> st.SearchStrategy[str]:
    """One person under the names people type: any case, padded, or their object id."""
    names = [person, person.upper(), f"  {person} ", person.title()]
    return st.sampled_from(names + ([object_id] if object_id else []))


# ---- people and ids ----------------------------------------------------------------------------


@CORPUS
@given(hostile_email)
async def test_a_hostile_target_or_requestor_is_refused(world, who):
    refusal = await refused_and_unchanged(
        world,
        lambda: world.access.request_access("sales-team", who),
        {Rule.INVALID_EMAIL, Rule.UNKNOWN_USER, Rule.TEXT_INVALID, Rule.NO_MATCHING_POLICY},
    )
    if refusal.rule == Rule.TEXT_INVALID:
        assert refusal.message.startswith("the target ")
    elif refusal.rule == Rule.NO_MATCHING_POLICY:  # a well-formed address outside the tenant
        assert "'sales-team'" in refusal.message and "external user" in refusal.message
    else:
        assert refusal.message.startswith(f"the target '{who.strip()}'")
    refusal = await refused_and_unchanged(
        world,
        lambda: world.access.request_access("sales-team", DANA, requestor=who),
        {Rule.INVALID_EMAIL, Rule.UNKNOWN_USER, Rule.TEXT_INVALID},
    )
    assert refusal.message.startswith("the requestor")


@CORPUS
@given(st.text(max_size=40).filter(lambda p: p.strip() not in PACKAGES))
async def test_an_unknown_package_is_refused_naming_it(world, package):
    refusal = await refused_and_unchanged(
        world,
        lambda: world.access.request_access(package, DANA),
        {Rule.UNKNOWN_PACKAGE, Rule.TEXT_INVALID},
    )
    if refusal.rule == Rule.UNKNOWN_PACKAGE:
        assert refusal.message == f"unknown access package '{package.strip()}'"
    else:
        assert refusal.message.startswith("the package id")


@CORPUS
@given(hostile_request_id, st.sampled_from(["status", "audit", "approve", "deny", "cancel",
                                            "remove", "extend", "reprocess"]))  # fmt: skip
async def test_an_unknown_request_id_is_refused_by_every_command(world, request_id, command):
    access = world.access
    calls = {
        "status": lambda: access.status(request_id),
        "audit": lambda: access.audit(request_id),
        "approve": lambda: access.approve(request_id, CAROL),
        "deny": lambda: access.deny(request_id, CAROL),
        "cancel": lambda: access.cancel(request_id, ALICE),
        "remove": lambda: access.remove(request_id, ADMIN),
        "extend": lambda: access.extend(request_id, ERIN),
        "reprocess": lambda: access.reprocess(request_id),
    }
    refusal = await refused_and_unchanged(
        world, calls[command], {Rule.NOT_FOUND, Rule.TEXT_INVALID}
    )
    if refusal.rule == Rule.NOT_FOUND:
        assert refusal.message.startswith(f"no request '{request_id.strip()}'")


# ---- who may do what, when ---------------------------------------------------------------------


@CORPUS
@given(st.data())
async def test_actions_by_the_wrong_person_or_at_the_wrong_time_are_refused(world, data):
    access, pending, delivered = world.access, world.pending, world.delivered
    outsider = data.draw(
        st.one_of(*(spelled(p) for p in (BOB, DANA, FRANK, GRACE, ADMIN)), hostile_email)
    )
    requestor = data.draw(spelled(ALICE, ALICE_ID))
    # an administrator may remove, under any spelling of their name
    not_admin = BOB if outsider.strip().lower() == ADMIN else outsider
    attempts = {
        "an outsider approves": (
            lambda: access.approve(pending, outsider),
            {Rule.NOT_AN_APPROVER, Rule.TEXT_INVALID},
        ),
        "an outsider denies": (
            lambda: access.deny(pending, outsider, "no"),
            {Rule.NOT_AN_APPROVER, Rule.TEXT_INVALID},
        ),
        "the requestor approves": (
            lambda: access.approve(pending, requestor),
            {Rule.SELF_APPROVAL},
        ),
        "someone else cancels": (
            lambda: access.cancel(pending, data.draw(st.one_of(spelled(CAROL), hostile_email))),
            {Rule.NOT_REQUESTOR, Rule.TEXT_INVALID},
        ),
        "the request is extended": (lambda: access.extend(pending, requestor), {Rule.NOT_PENDING}),
        "the request is removed": (lambda: access.remove(pending, ADMIN), {Rule.NOT_PENDING}),
        "nothing to reprocess": (lambda: access.reprocess(pending), {Rule.NOTHING_TO_REPROCESS}),
        "a delivered one is decided": (
            lambda: access.approve(delivered, CAROL),
            {Rule.NOT_PENDING},
        ),
        "a delivered one is canceled": (lambda: access.cancel(delivered, ERIN), {Rule.NOT_PENDING}),
        "someone else removes": (
            lambda: access.remove(delivered, not_admin),
            {Rule.NOT_REQUESTOR, Rule.TEXT_INVALID},
        ),
        "someone else extends": (
            lambda: access.extend(delivered, outsider),
            {Rule.NOT_TARGET, Rule.TEXT_INVALID},
        ),
    }  # fmt: skip
    attempt = data.draw(st.sampled_from(sorted(attempts)))
    call, rules = attempts[attempt]
    await refused_and_unchanged(world, call, rules)


@CORPUS
@given(st.data())
async def test_an_extension_past_the_policy_end_or_not_past_the_current_end_is_refused(world, data):
    status = await world.access.status(world.delivered)
    past_the_policy = world.policy_end + timedelta(seconds=data.draw(st.integers(1, 10**9)))
    not_later = status.end - timedelta(seconds=data.draw(st.integers(0, 10**9)))
    end = data.draw(st.sampled_from([past_the_policy, not_later]))
    refusal = await refused_and_unchanged(
        world, lambda: world.access.extend(world.delivered, ERIN, end=end), {Rule.SCHEDULE_INVALID}
    )
    if end > world.policy_end:
        allowed = re.fullmatch(
            rf"the end {re.escape(end.isoformat())} is past what policy 'everyone' allows "
            r"\((.+)\)",
            refusal.message,
        )
        assert allowed, refusal.message
        assert datetime.fromisoformat(allowed[1]) <= world.policy_end
    else:
        assert refusal.message.startswith(
            f"that would not extend the access past {status.end.isoformat()}"
        )


# ---- what people type --------------------------------------------------------------------------


@CORPUS
@given(hostile_text, st.sampled_from(["request", "answer", "assign", "approve", "deny",
                                      "extend", "remove"]))  # fmt: skip
async def test_hostile_text_is_refused_wherever_it_is_typed(world, text, where):
    access = world.access
    calls = {
        "request": (
            lambda: access.request_access(
                "finance-reports", BOB, justification=text, answers=GOOD_ANSWERS
            ),
            "the justification",
        ),
        "answer": (
            lambda: access.request_access("finance-reports", BOB, answers={"cost-center": text}),
            "the answer to 'cost-center'",
        ),
        "assign": (
            lambda: access.assign("finance-write", FRANK, admin=ADMIN, justification=text),
            "the justification",
        ),
        "approve": (lambda: access.approve(world.pending, CAROL, text), "the justification"),
        "deny": (lambda: access.deny(world.pending, CAROL, text), "the justification"),
        "extend": (
            lambda: access.extend(world.delivered, ERIN, justification=text),
            "the justification",
        ),
        "remove": (lambda: access.remove(world.delivered, ADMIN, text), "the reason"),
    }
    call, field = calls[where]
    refusal = await refused_and_unchanged(world, call, {Rule.TEXT_INVALID})
    assert refusal.message.startswith(f"{field} ")
    assert "characters long" in refusal.message or "control character U+" in refusal.message


@CORPUS
@given(
    st.text(max_size=30).filter(lambda a: not re.fullmatch(r"CC-[0-9]{4}", a.strip())),
    st.sampled_from(["cost-center", "costCenter", "team"]),
)
async def test_an_answer_failing_its_pattern_or_an_unknown_question_is_refused(
    world, answer, question
):
    refusal = await refused_and_unchanged(
        world,
        lambda: world.access.request_access("finance-reports", BOB, answers={question: answer}),
        {Rule.ANSWER_INVALID, Rule.QUESTION_UNANSWERED, Rule.TEXT_INVALID},
    )
    if refusal.rule == Rule.TEXT_INVALID:
        assert refusal.message.startswith(f"the answer to '{question}' ")
    elif question != "cost-center":
        assert refusal.message.startswith(f"policy 'employees' has no question '{question}'")
    elif refusal.rule == Rule.ANSWER_INVALID:
        assert refusal.message == "the answer to 'cost-center' does not match ^CC-[0-9]{4}$"


# ---- decisions twice, after a timeout ----------------------------------------------------------


async def test_a_decision_twice_or_after_the_timeout_is_refused(world, time_env):
    access, pending = world.access, world.pending
    await access.approve(pending, CAROL, "checked")
    await wait_for(access, pending, lambda s: s.state == RequestState.DELIVERED)
    await mailed(world.graph, ALICE, "Approved:")  # the last write of the approval
    for again in (CAROL, "carol@CONTOSO.example", BOB):
        refusal = await refused_and_unchanged(
            world, lambda again=again: access.approve(pending, again), {Rule.NOT_PENDING}
        )
        assert refusal.message == "the request is not waiting for an approval"

    # a second request that nobody decides: after 14 days it is denied, and stays so
    late = await access.request_access("finance-reports", BOB, answers=GOOD_ANSWERS)
    await time_env.sleep(timedelta(days=15))
    assert (await access.wait(late)).state == RequestState.DENIED
    before = await access.status(late)
    for call in (
        lambda: access.approve(late, DANA),  # bob's manager, the approver of the moment
        lambda: access.deny(late, CAROL),
        lambda: access.cancel(late, BOB),
    ):
        with pytest.raises(RequestRefused) as refusal:
            await call()
        assert refusal.value.rule == Rule.NOT_PENDING
        assert refusal.value.message == f"request '{late}' has ended: it is denied"
    assert await access.status(late) == before
