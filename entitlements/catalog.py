"""The catalog file: catalogs of resources and access packages, connected organizations, settings.

`CatalogFile` parses one YAML document; `cross_reference_problems` finds what a single model
cannot see (unknown ids, duplicates). Loading with paths and line numbers is in `loading.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from entitlements.base import Duration, GraphModel, normalise_email
from entitlements.policy import AssignmentPolicy, SubjectType

GROUP_ROLES = ("Member", "Owner")
DEFAULT_APP_ROLE = "Default Access"


class ResourceType(StrEnum):
    GROUP = "group"
    APPLICATION = "application"
    SITE = "site"  # granted through the site's Microsoft 365 group


class AppRole(GraphModel):
    id: str
    display_name: str


class Resource(GraphModel):
    id: str = Field(min_length=1)
    type: ResourceType
    origin_id: str = Field(min_length=1)  # Graph object id (group, service principal, site)
    display_name: str
    description: str = ""
    roles: list[AppRole] = []  # an application's app roles
    group_id: str | None = None  # a site's Microsoft 365 group

    @model_validator(mode="after")
    def _fits_its_type(self) -> Resource:
        if self.type == ResourceType.SITE and not self.group_id:
            raise ValueError("a site resource needs groupId, its Microsoft 365 group")
        if self.type != ResourceType.APPLICATION and self.roles:
            raise ValueError(f"a {self.type.value} resource has the roles {GROUP_ROLES}, not roles")
        return self

    def role_names(self) -> list[str]:
        if self.type == ResourceType.APPLICATION:
            return [role.display_name for role in self.roles] + [DEFAULT_APP_ROLE]
        return list(GROUP_ROLES)

    def app_role_id(self, role: str) -> str:
        """The appRole id for a role name; Graph's "Default Access" is the all-zero id."""
        for app_role in self.roles:
            if app_role.display_name == role:
                return app_role.id
        return "00000000-0000-0000-0000-000000000000"


class ResourceRoleScope(GraphModel):
    resource: str  # a resource id in the package's catalog
    role: str


class AccessPackage(GraphModel):
    id: str = Field(min_length=1)
    display_name: str
    description: str = ""
    catalog: str | None = None  # required for packages listed at the top level of the file
    is_hidden: bool = False
    resource_role_scopes: list[ResourceRoleScope] = []
    incompatible_access_packages: list[str] = []
    incompatible_groups: list[str] = []
    assignment_policies: list[AssignmentPolicy] = Field(min_length=1)

    def policy(self, policy_id: str) -> AssignmentPolicy | None:
        return next((p for p in self.assignment_policies if p.id == policy_id), None)


class CatalogState(StrEnum):
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


class Catalog(GraphModel):
    id: str = Field(min_length=1)
    display_name: str
    description: str = ""
    state: CatalogState = CatalogState.PUBLISHED
    is_externally_visible: bool = False
    time_zone: str = "UTC"  # reviews recur in this zone
    resources: list[Resource] = []
    access_packages: list[AccessPackage] = []

    def resource(self, resource_id: str) -> Resource | None:
        return next((r for r in self.resources if r.id == resource_id), None)


class IdentitySourceType(StrEnum):
    AZURE_AD_TENANT = "azureActiveDirectoryTenant"
    DOMAIN = "domainIdentitySource"


class IdentitySource(GraphModel):
    type: IdentitySourceType
    domain_name: str | None = None
    tenant_id: str | None = None  # for a tenant; found from domainName when omitted

    @model_validator(mode="after")
    def _names_something(self) -> IdentitySource:
        if not (self.domain_name or self.tenant_id):
            raise ValueError("an identity source needs domainName (or tenantId for a tenant)")
        if self.type == IdentitySourceType.DOMAIN and not self.domain_name:
            raise ValueError("a domainIdentitySource needs domainName")
        return self


class ConnectedOrganizationState(StrEnum):
    CONFIGURED = "configured"
    PROPOSED = "proposed"


class ConnectedOrganization(GraphModel):
    id: str = Field(min_length=1)
    display_name: str
    description: str = ""
    state: ConnectedOrganizationState = ConnectedOrganizationState.CONFIGURED
    identity_sources: list[IdentitySource] = Field(min_length=1)
    internal_sponsors: list[str] = []
    external_sponsors: list[str] = []

    @field_validator("internal_sponsors", "external_sponsors")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return [normalise_email(v) for v in value]


class ExternalUserLifecycleAction(StrEnum):
    NONE = "none"
    BLOCK_SIGN_IN = "blockSignIn"
    BLOCK_SIGN_IN_AND_DELETE = "blockSignInAndDelete"


class InvitationSettings(GraphModel):
    invite_redirect_url: str = "https://myapplications.microsoft.com"
    allowed_domains: list[str] = []  # empty: every domain that is not denied
    denied_domains: list[str] = []
    send_invitation_message: bool = False

    @field_validator("allowed_domains", "denied_domains")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [d.strip().lower() for d in value]

    @model_validator(mode="after")
    def _one_list(self) -> InvitationSettings:
        # Entra's collaboration settings hold an allow list or a deny list, never both.
        if self.allowed_domains and self.denied_domains:
            raise ValueError("give allowedDomains or deniedDomains, not both")
        return self

    def refusal_for(self, email: str) -> str | None:
        domain = email.rsplit("@", 1)[-1].lower()
        if domain in self.denied_domains:
            return f"the domain {domain} is on the invitation deny list"
        if self.allowed_domains and domain not in self.allowed_domains:
            return f"the domain {domain} is not on the invitation allow list"
        return None


class NotificationSettings(GraphModel):
    sender_mailbox: str = "access@contoso.example"
    is_enabled: bool = True


class Settings(GraphModel):
    external_user_lifecycle_action: ExternalUserLifecycleAction = (
        ExternalUserLifecycleAction.BLOCK_SIGN_IN_AND_DELETE
    )
    duration_until_external_user_deleted_after_blocked: Duration = Field(default=timedelta(days=30))
    invitations: InvitationSettings = InvitationSettings()
    notifications: NotificationSettings = NotificationSettings()
    administrators: list[str] = []  # may assign directly and remove any assignment

    @field_validator("administrators")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return [normalise_email(v) for v in value]


class CatalogFile(GraphModel):
    settings: Settings = Settings()
    connected_organizations: list[ConnectedOrganization] = []
    catalogs: list[Catalog] = Field(min_length=1)
    access_packages: list[AccessPackage] = []  # top-level packages name their catalog

    def packages(self) -> Iterator[tuple[Catalog | None, AccessPackage]]:
        """Every package with its catalog (None when a top-level package names no known one)."""
        by_id = {c.id: c for c in self.catalogs}
        for catalog in self.catalogs:
            for package in catalog.access_packages:
                yield catalog, package
        for package in self.access_packages:
            yield by_id.get(package.catalog or ""), package


def _duplicates(ids: list[tuple[tuple, str]], what: str) -> list[tuple[tuple, str]]:
    counts = Counter(i for _, i in ids)
    return [(path, f"duplicate {what} id '{i}'") for path, i in ids if counts[i] > 1]


def cross_reference_problems(file: CatalogFile) -> list[tuple[tuple, str]]:
    """Problems that need the whole file: each as (path in the file, message)."""
    problems: list[tuple[tuple, str]] = []
    catalog_ids = [(("catalogs", i, "id"), c.id) for i, c in enumerate(file.catalogs)]
    problems += _duplicates(catalog_ids, "catalog")
    org_ids = [
        (("connectedOrganizations", i, "id"), o.id)
        for i, o in enumerate(file.connected_organizations)
    ]
    problems += _duplicates(org_ids, "connected organization")
    known_orgs = {o.id for o in file.connected_organizations}
    known_catalogs = {c.id for c in file.catalogs}

    package_places: list[tuple[tuple, Catalog | None, AccessPackage]] = []
    for ci, catalog in enumerate(file.catalogs):
        base = ("catalogs", ci)
        resource_ids = [
            (base + ("resources", ri, "id"), r.id) for ri, r in enumerate(catalog.resources)
        ]
        problems += _duplicates(resource_ids, f"resource (in catalog {catalog.id})")
        for pi, package in enumerate(catalog.access_packages):
            here = base + ("accessPackages", pi)
            if package.catalog is not None and package.catalog != catalog.id:
                problems.append(
                    (
                        here + ("catalog",),
                        f"package is inside catalog '{catalog.id}' but names "
                        f"catalog '{package.catalog}'",
                    )
                )
            package_places.append((here, catalog, package))
    by_id = {c.id: c for c in file.catalogs}
    for pi, package in enumerate(file.access_packages):
        here = ("accessPackages", pi)
        if package.catalog is None:
            problems.append((here + ("catalog",), "a top-level package must name its catalog"))
        elif package.catalog not in known_catalogs:
            problems.append((here + ("catalog",), f"unknown catalog '{package.catalog}'"))
        package_places.append((here, by_id.get(package.catalog or ""), package))

    problems += _duplicates(
        [(p + ("id",), pkg.id) for p, _, pkg in package_places], "access package"
    )
    known_packages = {pkg.id for _, _, pkg in package_places}

    for here, catalog, package in package_places:
        for si, scope in enumerate(package.resource_role_scopes):
            at = here + ("resourceRoleScopes", si)
            resource = catalog.resource(scope.resource) if catalog else None
            if catalog is not None and resource is None:
                problems.append(
                    (
                        at + ("resource",),
                        f"unknown resource '{scope.resource}' (not in catalog '{catalog.id}')",
                    )
                )
            elif resource is not None and scope.role not in resource.role_names():
                problems.append(
                    (
                        at + ("role",),
                        f"unknown role '{scope.role}' for {resource.type.value} "
                        f"'{resource.id}' (one of: {', '.join(resource.role_names())})",
                    )
                )
        for ii, other in enumerate(package.incompatible_access_packages):
            if other not in known_packages:
                problems.append(
                    (here + ("incompatibleAccessPackages", ii), f"unknown access package '{other}'")
                )
            elif other == package.id:
                problems.append(
                    (
                        here + ("incompatibleAccessPackages", ii),
                        "a package cannot be incompatible with itself",
                    )
                )
        policy_ids = [
            (here + ("assignmentPolicies", i, "id"), p.id)
            for i, p in enumerate(package.assignment_policies)
        ]
        problems += _duplicates(policy_ids, f"policy (in package {package.id})")
        for qi, policy in enumerate(package.assignment_policies):
            at = here + ("assignmentPolicies", qi)
            question_ids = [
                (at + ("questions", i, "id"), q.id) for i, q in enumerate(policy.questions)
            ]
            problems += _duplicates(question_ids, "question")
            for ti, target in enumerate(policy.specific_allowed_targets):
                if (
                    target.type == SubjectType.CONNECTED_ORGANIZATION_MEMBERS
                    and target.connected_organization not in known_orgs
                ):
                    problems.append(
                        (
                            at + ("specificAllowedTargets", ti, "connectedOrganization"),
                            f"unknown connected organization '{target.connected_organization}'",
                        )
                    )
    return problems
