"""The rest of the tenant: invitations, deleted items, sites, tenant look-up by domain."""

from __future__ import annotations

from .directory import USER_DEFAULT_PROPERTIES, Directory
from .responses import context, entity, no_content, ok
from .router import GraphRequest, GraphResponse, Router


def invite(req: GraphRequest, d: Directory) -> GraphResponse:
    invitation = d.invite(req.json_object())
    return ok({"@odata.context": context(req, "invitations/$entity"), **invitation}, status=201)


def _deleted_view(req: GraphRequest, kind: str, obj: dict, status: int = 200) -> GraphResponse:
    default = USER_DEFAULT_PROPERTIES if kind == "user" else None
    return entity(req, obj, "directoryObjects", kind, default, status=status, odata_type=True)


def get_deleted(req: GraphRequest, d: Directory, oid: str) -> GraphResponse:
    kind, obj = d.deleted_item(oid)
    return _deleted_view(req, kind, obj)


def restore(req: GraphRequest, d: Directory, oid: str) -> GraphResponse:
    kind, obj = d.restore(oid)
    return _deleted_view(req, kind, obj)


def purge(req: GraphRequest, d: Directory, oid: str) -> GraphResponse:
    d.purge(oid)
    return no_content()


def get_site(req: GraphRequest, d: Directory, site: str) -> GraphResponse:
    return entity(req, d.site(site), "sites", "site")


def find_tenant(req: GraphRequest, d: Directory, domain: str) -> GraphResponse:
    info = d.tenant_by_domain(domain)
    return ok({"@odata.context": context(req, "microsoft.graph.tenantInformation"), **info})


def register(router: Router) -> None:
    router.add("POST", "/invitations", invite)
    router.add("GET", "/directory/deletedItems/{oid}", get_deleted)
    router.add("DELETE", "/directory/deletedItems/{oid}", purge)
    router.add("POST", "/directory/deletedItems/{oid}/restore", restore)
    router.add("GET", "/sites/{site}", get_site)
    router.add(
        "GET",
        "/tenantRelationships/findTenantInformationByDomainName(domainName='{domain}')",
        find_tenant,
    )
