"""/servicePrincipals: read, and app role assignments (appRoleAssignedTo)."""

from __future__ import annotations

from .directory import Directory
from .errors import not_found
from .responses import collection, entity, no_content
from .router import GraphRequest, GraphResponse, Router


def get_service_principal(req: GraphRequest, d: Directory, sp: str) -> GraphResponse:
    return entity(req, d.service_principal(sp), "servicePrincipals", "servicePrincipal")


def list_assignments(req: GraphRequest, d: Directory, sp: str) -> GraphResponse:
    return collection(req, d.assignments_to(sp), f"servicePrincipals('{sp}')/appRoleAssignedTo")


def get_assignment(req: GraphRequest, d: Directory, sp: str, aid: str) -> GraphResponse:
    match = [a for a in d.assignments_to(sp) if a["id"] == aid]
    if not match:
        raise not_found(aid)
    entity_set = f"servicePrincipals('{sp}')/appRoleAssignedTo"
    return entity(req, match[0], entity_set, "appRoleAssignment")


def add_assignment(req: GraphRequest, d: Directory, sp: str) -> GraphResponse:
    body = req.json_object()
    assignment = d.assign(
        sp,
        principal_id=str(body.get("principalId") or ""),
        resource_id=str(body.get("resourceId") or ""),
        app_role_id=str(body.get("appRoleId") or ""),
    )
    return entity(
        req,
        assignment,
        f"servicePrincipals('{sp}')/appRoleAssignedTo",
        "appRoleAssignment",
        status=201,
    )


def delete_assignment(req: GraphRequest, d: Directory, sp: str, aid: str) -> GraphResponse:
    d.unassign(sp, aid)
    return no_content()


def register(router: Router) -> None:
    router.add("GET", "/servicePrincipals/{sp}", get_service_principal)
    router.add("GET", "/servicePrincipals/{sp}/appRoleAssignedTo", list_assignments)
    router.add("POST", "/servicePrincipals/{sp}/appRoleAssignedTo", add_assignment)
    router.add("GET", "/servicePrincipals/{sp}/appRoleAssignedTo/{aid}", get_assignment)
    router.add("DELETE", "/servicePrincipals/{sp}/appRoleAssignedTo/{aid}", delete_assignment)
