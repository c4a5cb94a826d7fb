"""Who may request, which policy applies, and which connected organization an address belongs to
(SEMANTICS.md "Who may request, and which policy applies"): the pure rules, no directory."""

from __future__ import annotations

import pytest

from entitlements.catalog import AccessPackage, ConnectedOrganization
from entitlements.people import Person
from entitlements.policy import AssignmentPolicy
from entitlements.policy_choice import (
    ALL_EXTERNAL,
    ALL_MEMBERS,
    ALL_USERS,
    SPECIFIC,
    TargetFacts,
    choose_policy,
    connected_organization_for,
    tier,
)
from entitlements.refusals import RequestRefused, Rule

ALICE = Person(
    email="alice@contoso.example",
    id="00000000-0000-4000-8000-0000000a11ce",
    user_principal_name="alice.adams@contoso.example",
    display_name="Alice Adams",
)
BOB = Person(email="bob@contoso.example", id="00000000-0000-4000-8000-000000000b0b")
GRACE = Person(  # a guest from Fabrikam, already in the directory
    email="grace@fabrikam.example",
    id="00000000-0000-4000-8000-00000006ace0",
    user_principal_name="grace_fabrikam.example#EXT#@contoso.onmicrosoft.example",
    is_guest=True,
)
SAM = Person(email="sam@fabrikam-research.example")  # external, not yet in the directory
LEE = Person(email="lee@litware.example")
NOBODY_KNOWN = Person(email="pat@elsewhere.example")
ANALYSTS = "6f1b6c2e-0000-4000-8000-0000000000aa"
FABRIKAM_TENANT = "f0000000-0000-4000-8000-0000000fab01"
NORTHWIND_TENANT = "f0000000-0000-4000-8000-0000000a0e01"

FABRIKAM = ConnectedOrganization.model_validate(
    {
        "id": "fabrikam",
        "displayName": "Fabrikam",
        "state": "configured",
        "identitySources": [
            {"type": "azureActiveDirectoryTenant", "domainName": "fabrikam.example"},
            {"type": "domainIdentitySource", "domainName": "Fabrikam-Partners.example"},
        ],
    }
)
LITWARE = ConnectedOrganization.model_validate(
    {
        "id": "litware",
        "displayName": "Litware",
        "state": "proposed",
        "identitySources": [{"type": "domainIdentitySource", "domainName": "litware.example"}],
    }
)
ORGANIZATIONS = [FABRIKAM, LITWARE]


def policy(policy_id: str, scope: str, *targets: dict) -> AssignmentPolicy:
    return AssignmentPolicy.model_validate(
        {
            "id": policy_id,
            "displayName": policy_id,
            "allowedTargetScope": scope,
            "specificAllowedTargets": list(targets),
        }
    )


def user(identifier: str) -> dict:
    return {"type": "singleUser", "user": identifier}


def group(group_id: str) -> dict:
    return {"type": "groupMembers", "groupId": group_id}


def organization(org_id: str) -> dict:
    return {"type": "connectedOrganizationMembers", "connectedOrganization": org_id}


def access_package(*policies: AssignmentPolicy) -> AccessPackage:
    return AccessPackage(
        id="finance-reports", display_name="Finance reports", assignment_policies=list(policies)
    )


def facts(person: Person, org: ConnectedOrganization | None = None, groups=()) -> TargetFacts:
    return TargetFacts(person=person, group_ids=frozenset(groups), connected_organization=org)


def refusal(package: AccessPackage, target: TargetFacts, wanted: str | None = None):
    with pytest.raises(RequestRefused) as refused:
        choose_policy(package, target, wanted)
    return refused.value


# ---- tiers: who each scope admits ---------------------------------------------------------

MEMBERS = policy("members", "allMemberUsers")
DIRECTORY = policy("directory", "allDirectoryUsers")
CONFIGURED_ORGS = policy("configured-orgs", "allConfiguredConnectedOrganizationUsers")
EXTERNAL = policy("external", "allExternalUsers")
DIRECT_ONLY = policy("admins-only", "notSpecified")


@pytest.mark.parametrize(
    ("scope_policy", "target", "expected"),
    [
        (MEMBERS, facts(ALICE), ALL_MEMBERS),
        (MEMBERS, facts(GRACE, FABRIKAM), None),  # a guest is not a member
        (MEMBERS, facts(SAM, FABRIKAM), None),
        (DIRECTORY, facts(ALICE), ALL_USERS),
        (DIRECTORY, facts(GRACE, FABRIKAM), ALL_USERS),  # "all users" includes guests
        (DIRECTORY, facts(SAM, FABRIKAM), None),  # not in the directory yet
        (CONFIGURED_ORGS, facts(SAM, FABRIKAM), ALL_EXTERNAL),
        (CONFIGURED_ORGS, facts(GRACE, FABRIKAM), ALL_EXTERNAL),
        (CONFIGURED_ORGS, facts(LEE, LITWARE), None),  # proposed is not configured
        (CONFIGURED_ORGS, facts(NOBODY_KNOWN), None),
        (CONFIGURED_ORGS, facts(ALICE), None),
        (EXTERNAL, facts(SAM, FABRIKAM), ALL_EXTERNAL),
        (EXTERNAL, facts(LEE, LITWARE), ALL_EXTERNAL),  # proposed matches "all users"
        (EXTERNAL, facts(NOBODY_KNOWN), ALL_EXTERNAL),
        (EXTERNAL, facts(GRACE, FABRIKAM), ALL_EXTERNAL),
        (EXTERNAL, facts(ALICE), None),
        (DIRECT_ONLY, facts(ALICE), None),
        (DIRECT_ONLY, facts(SAM, FABRIKAM), None),
    ],
    ids=lambda value: value.id if isinstance(value, AssignmentPolicy) else None,
)
def test_each_scope_admits_exactly_its_people(scope_policy, target, expected):
    assert tier(scope_policy, target) == expected


@pytest.mark.parametrize("listed_as", [ALICE.email, "ALICE.ADAMS@contoso.example", ALICE.id])
def test_a_specific_user_is_recognised_by_any_identifier(listed_as):
    named = policy("named", "specificDirectoryUsers", user(listed_as))
    assert tier(named, facts(ALICE)) == SPECIFIC
    assert tier(named, facts(BOB)) is None


def test_specific_groups_admit_their_members_guests_included():
    analysts = policy("analysts", "specificDirectoryUsers", group(ANALYSTS))
    assert tier(analysts, facts(ALICE, groups={ANALYSTS})) == SPECIFIC
    assert tier(analysts, facts(GRACE, FABRIKAM, groups={ANALYSTS})) == SPECIFIC
    assert tier(analysts, facts(BOB)) is None


def test_specific_directory_users_never_admit_someone_not_yet_in_the_directory():
    named = policy("named", "specificDirectoryUsers", user(SAM.email))
    assert tier(named, facts(SAM, FABRIKAM)) is None


def test_specific_connected_organizations_admit_their_external_users_configured_or_proposed():
    fabrikam_only = policy(
        "fabrikam", "specificConnectedOrganizationUsers", organization("fabrikam")
    )
    litware_only = policy("litware", "specificConnectedOrganizationUsers", organization("litware"))
    assert tier(fabrikam_only, facts(SAM, FABRIKAM)) == SPECIFIC
    assert tier(fabrikam_only, facts(GRACE, FABRIKAM)) == SPECIFIC
    assert tier(fabrikam_only, facts(LEE, LITWARE)) is None
    assert tier(fabrikam_only, facts(NOBODY_KNOWN)) is None
    assert tier(litware_only, facts(LEE, LITWARE)) == SPECIFIC
    # a member of the home tenant is never a connected organization's user
    assert tier(fabrikam_only, facts(ALICE, FABRIKAM)) is None


# ---- choosing among matching policies ------------------------------------------------------

NAMED = policy("alice-only", "specificDirectoryUsers", user(ALICE.email))
FABRIKAM_STAFF = policy(
    "fabrikam-partners", "specificConnectedOrganizationUsers", organization("fabrikam")
)


def test_the_most_specific_matching_policy_wins_whatever_the_order():
    package = access_package(EXTERNAL, DIRECTORY, MEMBERS, CONFIGURED_ORGS, FABRIKAM_STAFF, NAMED)
    assert choose_policy(package, facts(ALICE), None).id == "alice-only"
    assert choose_policy(package, facts(BOB), None).id == "members"
    assert choose_policy(package, facts(GRACE, FABRIKAM), None).id == "fabrikam-partners"
    assert choose_policy(package, facts(SAM, FABRIKAM), None).id == "fabrikam-partners"
    assert choose_policy(package, facts(NOBODY_KNOWN), None).id == "external"


def test_all_users_beats_all_external_for_a_guest():
    package = access_package(EXTERNAL, CONFIGURED_ORGS, DIRECTORY)
    assert choose_policy(package, facts(GRACE, FABRIKAM), None).id == "directory"


def test_several_policies_in_the_best_tier_make_the_requestor_choose():
    fast = policy("members-fast", "allMemberUsers")
    package = access_package(MEMBERS, fast, DIRECTORY)
    refused = refusal(package, facts(ALICE))
    assert refused.rule == Rule.CHOOSE_POLICY
    assert "'finance-reports'" in refused.message
    assert "members, members-fast" in refused.message
    assert choose_policy(package, facts(ALICE), "members-fast").id == "members-fast"
    assert choose_policy(package, facts(ALICE), "members").id == "members"


def test_external_policies_in_one_tier_make_the_requestor_choose():
    package = access_package(CONFIGURED_ORGS, EXTERNAL)
    assert refusal(package, facts(SAM, FABRIKAM)).rule == Rule.CHOOSE_POLICY
    # for a proposed organization only one of the two applies: no choice to make
    assert choose_policy(package, facts(LEE, LITWARE), None).id == "external"


def test_a_chosen_policy_outside_the_best_tier_is_refused_and_the_best_is_named():
    package = access_package(MEMBERS, NAMED)
    refused = refusal(package, facts(ALICE), "members")
    assert refused.rule == Rule.NO_MATCHING_POLICY
    assert "'members'" in refused.message
    assert "alice-only" in refused.message
    assert "more specific" in refused.message


def test_a_chosen_policy_that_does_not_admit_the_target_is_refused():
    package = access_package(MEMBERS, DIRECTORY)
    refused = refusal(package, facts(GRACE, FABRIKAM), "members")
    assert refused.rule == Rule.NO_MATCHING_POLICY
    assert "'members' does not apply" in refused.message
    assert "directory" in refused.message


def test_an_unknown_chosen_policy_is_refused_naming_the_known_ones():
    refused = refusal(access_package(MEMBERS, DIRECTORY), facts(ALICE), "managers")
    assert refused.rule == Rule.UNKNOWN_POLICY
    assert "'managers'" in refused.message
    assert "members, directory" in refused.message


def test_no_matching_policy_says_who_asked_and_why():
    guest = refusal(access_package(MEMBERS), facts(GRACE, FABRIKAM))
    assert guest.rule == Rule.NO_MATCHING_POLICY
    assert "'finance-reports'" in guest.message
    assert "grace@fabrikam.example" in guest.message
    assert "a guest" in guest.message
    proposed = refusal(access_package(MEMBERS, CONFIGURED_ORGS), facts(LEE, LITWARE))
    assert proposed.rule == Rule.NO_MATCHING_POLICY
    assert "connected organization 'litware' (proposed)" in proposed.message


def test_a_package_for_direct_assignment_only_refuses_every_request():
    package = access_package(DIRECT_ONLY)
    for target in (facts(ALICE), facts(GRACE, FABRIKAM), facts(SAM, FABRIKAM)):
        assert refusal(package, target).rule == Rule.NO_MATCHING_POLICY


# ---- connected organizations ---------------------------------------------------------------


def org_of(person: Person, tenant_of_domain: str | None = None, tenants=None):
    tenants = {"fabrikam": FABRIKAM_TENANT} if tenants is None else tenants
    return connected_organization_for(person, ORGANIZATIONS, tenant_of_domain, tenants)


def test_an_external_address_matches_by_a_plain_domain_whatever_the_case():
    assert org_of(Person(email="Kim@FABRIKAM-PARTNERS.example")) == FABRIKAM
    assert org_of(LEE) == LITWARE
    assert org_of(LEE).state == "proposed"


def test_an_external_address_matches_the_domain_that_names_a_tenant():
    assert org_of(Person(email="kim@fabrikam.example")) == FABRIKAM
    assert org_of(GRACE) == FABRIKAM  # a guest too


def test_any_verified_domain_of_the_tenant_matches():
    assert org_of(SAM, tenant_of_domain=FABRIKAM_TENANT) == FABRIKAM


def test_a_tenant_that_is_no_connected_organization_matches_nothing():
    northwind = Person(email="max@northwind.example")
    assert org_of(northwind, tenant_of_domain=NORTHWIND_TENANT) is None
    assert org_of(NOBODY_KNOWN, tenant_of_domain=None) is None
    assert org_of(SAM, tenant_of_domain=None) is None  # no tenant found for its domain


def test_a_plain_domain_wins_over_a_tenant_match():
    research = ConnectedOrganization.model_validate(
        {
            "id": "fabrikam-research",
            "displayName": "Fabrikam Research",
            "identitySources": [
                {"type": "domainIdentitySource", "domainName": "fabrikam-research.example"}
            ],
        }
    )
    found = connected_organization_for(
        SAM, [FABRIKAM, research], FABRIKAM_TENANT, {"fabrikam": FABRIKAM_TENANT}
    )
    assert found == research


def test_members_of_the_home_tenant_belong_to_no_connected_organization():
    member_at_partner_domain = Person(email="ops@fabrikam.example", id="m-1")
    assert org_of(member_at_partner_domain, tenant_of_domain=FABRIKAM_TENANT) is None
