"""Which policy of a package applies to a target (SEMANTICS.md "Who may request").

Pure: the facts about the target (directory membership, groups, connected organization) are
looked up by activities and passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from entitlements.catalog import AccessPackage, ConnectedOrganization, ConnectedOrganizationState
from entitlements.people import Person
from entitlements.policy import AllowedTargetScope, AssignmentPolicy, SubjectType
from entitlements.refusals import RequestRefused, Rule


@dataclass(frozen=True)
class TargetFacts:
    person: Person
    group_ids: frozenset[str] = frozenset()  # the target's groups among those policies name
    connected_organization: ConnectedOrganization | None = None  # matched by email domain


# Most specific first (SEMANTICS.md): a lower number wins.
SPECIFIC, ALL_MEMBERS, ALL_USERS, ALL_EXTERNAL = 1, 2, 3, 4


def tier(policy: AssignmentPolicy, facts: TargetFacts) -> int | None:
    """The policy's precedence tier if it admits the target, else None."""
    person, org = facts.person, facts.connected_organization
    scope = policy.allowed_target_scope
    if scope == AllowedTargetScope.SPECIFIC_DIRECTORY_USERS:
        if not person.in_directory:
            return None
        for subject in policy.specific_allowed_targets:
            if subject.type == SubjectType.SINGLE_USER and person.matches(subject.user or ""):
                return SPECIFIC
            if subject.type == SubjectType.GROUP_MEMBERS and subject.group_id in facts.group_ids:
                return SPECIFIC
        return None
    if scope == AllowedTargetScope.SPECIFIC_CONNECTED_ORGANIZATION_USERS:
        if not person.is_external or org is None:
            return None
        named = {s.connected_organization for s in policy.specific_allowed_targets}
        return SPECIFIC if org.id in named else None
    if scope == AllowedTargetScope.ALL_MEMBER_USERS:
        return ALL_MEMBERS if person.in_directory and not person.is_guest else None
    if scope == AllowedTargetScope.ALL_DIRECTORY_USERS:
        return ALL_USERS if person.in_directory else None
    if scope == AllowedTargetScope.ALL_CONFIGURED_CONNECTED_ORGANIZATION_USERS:
        configured = org is not None and org.state == ConnectedOrganizationState.CONFIGURED
        return ALL_EXTERNAL if person.is_external and configured else None
    if scope == AllowedTargetScope.ALL_EXTERNAL_USERS:
        return ALL_EXTERNAL if person.is_external else None
    return None  # notSpecified: direct assignment only


def choose_policy(
    package: AccessPackage, facts: TargetFacts, wanted_policy_id: str | None
) -> AssignmentPolicy:
    """The policy a user request goes through, or a refusal naming why none applies."""
    if wanted_policy_id is not None and package.policy(wanted_policy_id) is None:
        known = ", ".join(p.id for p in package.assignment_policies)
        raise RequestRefused(
            Rule.UNKNOWN_POLICY,
            f"access package '{package.id}' has no policy '{wanted_policy_id}' (it has: {known})",
        )
    tiers = {p.id: tier(p, facts) for p in package.assignment_policies}
    matching = [p for p in package.assignment_policies if tiers[p.id] is not None]
    who = facts.person.label()
    if not matching:
        kind = "an external user" if facts.person.is_external else "a member user"
        if facts.person.is_guest:
            kind = "a guest"
        org = facts.connected_organization
        via = f" of connected organization '{org.id}' ({org.state.value})" if org else ""
        raise RequestRefused(
            Rule.NO_MATCHING_POLICY,
            f"no policy of access package '{package.id}' allows {who} ({kind}{via}) to request it",
        )
    best = min(tiers[p.id] for p in matching)
    candidates = [p for p in matching if tiers[p.id] == best]
    if wanted_policy_id is not None:
        chosen = next((p for p in candidates if p.id == wanted_policy_id), None)
        if chosen is None:
            names = ", ".join(p.id for p in candidates)
            # Say which: "not yours" and "yours, but outranked" call for different fixes.
            if tiers[wanted_policy_id] is None:
                why = f"does not apply to {who}; the most specific policies that do: {names}"
            else:
                why = f"applies to {who}, but more specific policies take precedence: {names}"
            raise RequestRefused(Rule.NO_MATCHING_POLICY, f"policy '{wanted_policy_id}' {why}")
        return chosen
    if len(candidates) > 1:
        names = ", ".join(p.id for p in candidates)
        raise RequestRefused(
            Rule.CHOOSE_POLICY,
            f"several policies of access package '{package.id}' apply to {who}: {names}; "
            "choose one with --policy",
        )
    return candidates[0]


def connected_organization_for(
    person: Person,
    organizations: list[ConnectedOrganization],
    tenant_id_of_domain: str | None,
    tenant_ids_of_organizations: dict[str, str],
) -> ConnectedOrganization | None:
    """The organization an external address belongs to: by its domain, or by its Entra tenant.

    `tenant_id_of_domain` is the tenant behind the person's domain
    (findTenantInformationByDomainName);
    `tenant_ids_of_organizations` maps an organization id to its tenant id when it has one.
    """
    if not person.is_external:
        return None
    for org in organizations:
        for source in org.identity_sources:
            if source.domain_name and source.domain_name.lower() == person.domain:
                return org
    if tenant_id_of_domain:
        for org in organizations:
            if tenant_ids_of_organizations.get(org.id) == tenant_id_of_domain:
                return org
    return None
