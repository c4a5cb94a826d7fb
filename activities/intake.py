"""Request intake: resolve the people, choose the policy, apply every refusal rule.

Runs before anything starts: a refused ask changes nothing. The result is the snapshot the
request workflow starts with.
"""

from __future__ import annotations

from datetime import UTC, datetime

from email_validator import EmailNotValidError, validate_email
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.directory import DirectoryActivities
from activities.directory_models import CheckMemberGroupsInput, FindTenantInput
from activities.people import find_person
from entitlements.catalog import (
    AccessPackage,
    Catalog,
    CatalogFile,
    CatalogState,
    ConnectedOrganization,
    IdentitySourceType,
    ResourceType,
)
from entitlements.people import Person
from entitlements.policy import AssignmentPolicy, SubjectType
from entitlements.policy_choice import (
    TargetFacts,
    choose_policy,
    connected_organization_for,
    tier,
)
from entitlements.refusals import REFUSAL_ERROR_TYPE, RequestRefused, Rule
from entitlements.request_checks import (
    check_answers,
    check_justification,
    check_schedule,
    check_text,
)
from entitlements.requests import (
    AccessAsk,
    AccessRequestInput,
    PackageSnapshot,
    RequestType,
    ResourceGrant,
    ScopeCheck,
    request_id_for,
)
from workflows.activity_calls import SCOPE_REFUSAL
from workflows.intake import (
    CHECK_DIRECT_ASSIGNMENT,
    EVALUATE_ACCESS_ASK,
    DirectAssignmentCheck,
)
from workflows.request_start import already_open


class IntakeActivities:
    def __init__(
        self, catalog: CatalogFile, directory: DirectoryActivities, client: Client
    ) -> None:
        self.catalog = catalog
        self.directory = directory
        self.client = client
        self._tenants: dict[str, str | None] = {}  # domain -> tenant id (None: not a tenant)

    def all(self) -> list:
        return [self.evaluate_access_ask, self.check_direct_assignment, self.policy_scope_refusal]

    @activity.defn(name=SCOPE_REFUSAL)
    async def policy_scope_refusal(self, check: ScopeCheck) -> str:
        """Why the target is no longer in the policy's scope ("" when they are)."""
        target = await find_person(self.directory, check.target.id or check.target.key)
        if target is None:
            return f"{check.target.key} is no longer in the directory"
        policy = check.policy
        facts = TargetFacts(
            person=target,
            group_ids=await self._groups_of(target, _groups_of_policy(policy)),
            connected_organization=await self._connected_organization(target),
        )
        if tier(policy, facts) is None:
            return f"{target.key} is no longer in the scope of policy '{policy.id}'"
        return ""

    @activity.defn(name=EVALUATE_ACCESS_ASK)
    async def evaluate_access_ask(self, ask: AccessAsk) -> AccessRequestInput:
        """The request snapshot, or a non-retryable refusal naming its rule."""
        try:
            return await self._evaluate(ask)
        except RequestRefused as refusal:
            raise _refusal_error(refusal) from None

    @activity.defn(name=CHECK_DIRECT_ASSIGNMENT)
    async def check_direct_assignment(self, check: DirectAssignmentCheck) -> str:
        """The policy this administrator's direct assignments of the package go through (the
        checks every direct assignment makes of its administrator), or a refusal."""
        try:
            _, package = self._package(check.package_id)
            admin = await self._person(check.admin, "requestor", may_be_new=False)
            return self._admin_policy(package, admin, check.policy_id).id
        except RequestRefused as refusal:
            raise _refusal_error(refusal) from None

    async def _evaluate(self, ask: AccessAsk) -> AccessRequestInput:
        catalog, package = self._package(ask.package_id)
        target = await self._person(ask.target, "target", may_be_new=True)
        requestor = (
            await self._person(ask.requestor, "requestor", may_be_new=False)
            if ask.requestor and not target.matches(ask.requestor)
            else target
        )
        org = await self._connected_organization(target)
        if ask.request_type == RequestType.ADMIN_ADD:
            policy = self._admin_policy(package, requestor, ask.policy_id)
        else:
            if catalog.state != CatalogState.PUBLISHED:
                raise RequestRefused(
                    Rule.CATALOG_UNPUBLISHED,
                    f"catalog '{catalog.id}' is unpublished: nothing in it can be requested",
                )
            facts = TargetFacts(
                person=target,
                group_ids=await self._groups_of(target, _groups_named_by(package)),
                connected_organization=org,
            )
            policy = choose_policy(package, facts, ask.policy_id)
            settings = policy.requestor_settings
            if not settings.accept_requests or not settings.enable_targets_to_self_add_access:
                raise RequestRefused(
                    Rule.REQUESTS_DISABLED,
                    f"policy '{policy.id}' of package '{package.id}' accepts no new requests",
                )
        if not target.in_directory:
            refusal = self.catalog.settings.invitations.refusal_for(target.key)
            if refusal:
                raise RequestRefused(
                    Rule.INVITATION_DOMAIN, f"{target.key} cannot be invited: {refusal}"
                )
        await self._check_separation_of_duties(package, target)
        is_admin = ask.request_type == RequestType.ADMIN_ADD
        now = datetime.now(UTC)
        start, end = check_schedule(
            policy, now, ask.start, ask.end, chosen_by_administrator=is_admin
        )
        justification = (
            check_justification(policy, ask.justification)
            if not is_admin  # an administrator needs none, but what they write is checked too
            else check_text("the justification", ask.justification)
        )
        answers = check_answers(policy, ask.answers) if not is_admin else {}
        request_id = request_id_for(package.id, target)
        await self._check_no_open_request(request_id)
        return AccessRequestInput(
            request_id=request_id,
            request_type=ask.request_type,
            package=_snapshot(catalog, package),
            policy=policy,
            target=target,
            requestor=requestor,
            connected_organization=org,
            justification=justification,
            answers=answers,
            start=start,
            end=end,
            settings=self.catalog.settings,
            submitted_at=now,
        )

    def _package(self, package_id: str) -> tuple[Catalog, AccessPackage]:
        for catalog, package in self.catalog.packages():
            if package.id == package_id and catalog is not None:
                return catalog, package
        raise RequestRefused(Rule.UNKNOWN_PACKAGE, f"unknown access package '{package_id}'")

    async def _person(self, identifier: str, role: str, may_be_new: bool) -> Person:
        person = await find_person(self.directory, identifier)
        if person is not None:
            return person
        try:
            address = validate_email(identifier.strip(), check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise RequestRefused(
                Rule.INVALID_EMAIL if "@" in identifier else Rule.UNKNOWN_USER,
                f"the {role} '{identifier}' is not a user of this directory nor a valid email "
                f"address ({error})",
            ) from None
        if not may_be_new:
            raise RequestRefused(
                Rule.UNKNOWN_USER, f"the {role} '{identifier}' is not in the directory"
            )
        return Person(email=address.lower())

    def _admin_policy(
        self, package: AccessPackage, admin: Person, policy_id: str | None
    ) -> AssignmentPolicy:
        administrators = self.catalog.settings.administrators
        if not any(admin.matches(a) for a in administrators):
            raise RequestRefused(
                Rule.NOT_ADMINISTRATOR,
                f"{admin.key} is not an entitlement management administrator",
            )
        if policy_id is None:
            if len(package.assignment_policies) > 1:
                names = ", ".join(p.id for p in package.assignment_policies)
                raise RequestRefused(
                    Rule.CHOOSE_POLICY,
                    f"access package '{package.id}' has several policies: {names}; choose one",
                )
            return package.assignment_policies[0]
        policy = package.policy(policy_id)
        if policy is None:
            raise RequestRefused(
                Rule.UNKNOWN_POLICY, f"access package '{package.id}' has no policy '{policy_id}'"
            )
        return policy

    async def _groups_of(self, person: Person, group_ids: set[str]) -> frozenset[str]:
        if not person.id or not group_ids:
            return frozenset()
        result = await self.directory.check_member_groups(
            CheckMemberGroupsInput(user_id=person.id, group_ids=sorted(group_ids))
        )
        return frozenset(result.group_ids)

    async def _tenant_of(self, domain: str) -> str | None:
        if domain not in self._tenants:
            info = await self.directory.find_tenant_by_domain(FindTenantInput(domain=domain))
            self._tenants[domain] = info.tenant_id if info else None
        return self._tenants[domain]

    async def _connected_organization(self, person: Person) -> ConnectedOrganization | None:
        if not person.is_external:
            return None
        organizations = self.catalog.connected_organizations
        by_domain = connected_organization_for(person, organizations, None, {})
        if by_domain is not None:
            return by_domain
        org_tenants = {}
        for org in organizations:
            for source in org.identity_sources:
                if source.type == IdentitySourceType.AZURE_AD_TENANT:
                    tenant = source.tenant_id or await self._tenant_of(source.domain_name or "")
                    if tenant:
                        org_tenants[org.id] = tenant
        if not org_tenants:
            return None
        tenant = await self._tenant_of(person.domain)
        return connected_organization_for(person, organizations, tenant, org_tenants)

    async def _check_separation_of_duties(self, package: AccessPackage, target: Person) -> None:
        if target.id and package.incompatible_groups:
            held = await self._groups_of(target, set(package.incompatible_groups))
            if held:
                raise RequestRefused(
                    Rule.SEPARATION_OF_DUTIES,
                    f"{target.key} is a member of group {sorted(held)[0]}, which is incompatible "
                    f"with access package '{package.id}'",
                )
        # Incompatibility holds both ways, whichever package names the other.
        incompatible = set(package.incompatible_access_packages) | {
            other.id
            for _, other in self.catalog.packages()
            if package.id in other.incompatible_access_packages
        }
        for other in sorted(incompatible):
            if await self._is_open(request_id_for(other, target)):
                raise RequestRefused(
                    Rule.SEPARATION_OF_DUTIES,
                    f"{target.key} holds or has requested access package '{other}', which is "
                    f"incompatible with '{package.id}'",
                )

    async def _check_no_open_request(self, request_id: str) -> None:
        if await self._is_open(request_id):
            raise RequestRefused(Rule.OPEN_REQUEST_EXISTS, already_open(request_id))

    async def _is_open(self, workflow_id: str) -> bool:
        try:
            described = await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return described.status == WorkflowExecutionStatus.RUNNING


def _refusal_error(refusal: RequestRefused) -> ApplicationError:
    return ApplicationError(
        refusal.message, refusal.rule.value, type=REFUSAL_ERROR_TYPE, non_retryable=True
    )


def _groups_named_by(package: AccessPackage) -> set[str]:
    return {g for policy in package.assignment_policies for g in _groups_of_policy(policy)}


def _groups_of_policy(policy: AssignmentPolicy) -> set[str]:
    return {
        subject.group_id
        for subject in policy.specific_allowed_targets
        if subject.type == SubjectType.GROUP_MEMBERS and subject.group_id
    }


def _snapshot(catalog: Catalog, package: AccessPackage) -> PackageSnapshot:
    grants = []
    for scope in package.resource_role_scopes:
        resource = catalog.resource(scope.resource)
        assert resource is not None, "the catalog was validated"
        grants.append(
            ResourceGrant(
                resource_id=resource.id,
                display_name=resource.display_name,
                type=resource.type,
                origin_id=resource.origin_id,
                role=scope.role,
                app_role_id=(
                    resource.app_role_id(scope.role)
                    if resource.type == ResourceType.APPLICATION
                    else None
                ),
                group_id=resource.group_id,
            )
        )
    return PackageSnapshot(
        id=package.id,
        display_name=package.display_name,
        description=package.description,
        catalog_id=catalog.id,
        catalog_display_name=catalog.display_name,
        grants=grants,
    )
