"""/users: read, find by $filter, update, soft delete, manager, memberOf, checkMemberGroups,
sendMail. A user is addressed by object id or userPrincipalName, as Graph allows."""

from __future__ import annotations

from .directory import (
    USER_DEFAULT_PROPERTIES,
    USER_FILTER_PROPERTIES,
    Directory,
    action_parameter,
)
from .errors import bad_request
from .odata import parse_filter
from .responses import collection, entity, no_content, ok
from .router import GraphRequest, GraphResponse, Router


def list_users(req: GraphRequest, d: Directory) -> GraphResponse:
    users = d.active_users()
    if "$filter" in req.query:
        predicate = parse_filter(req.query["$filter"], USER_FILTER_PROPERTIES, "User")
        users = [u for u in users if predicate(u)]
    return collection(req, users, "users", USER_DEFAULT_PROPERTIES)


def get_user(req: GraphRequest, d: Directory, user: str) -> GraphResponse:
    return entity(req, d.user(user), "users", "user", USER_DEFAULT_PROPERTIES)


def patch_user(req: GraphRequest, d: Directory, user: str) -> GraphResponse:
    d.update_user(user, req.json_object())
    return no_content()


def delete_user(req: GraphRequest, d: Directory, user: str) -> GraphResponse:
    d.delete_user(user)
    return no_content()


def get_manager(req: GraphRequest, d: Directory, user: str) -> GraphResponse:
    manager = d.manager_of(user)
    return entity(
        req, manager, "directoryObjects", "user", USER_DEFAULT_PROPERTIES, odata_type=True
    )


def member_of(req: GraphRequest, d: Directory, user: str) -> GraphResponse:
    groups = d.member_groups(d.user(user)["id"])
    return collection(
        req, groups, "directoryObjects", type_names={g["id"]: "group" for g in groups}
    )


def check_member_groups(req: GraphRequest, d: Directory, user: str) -> GraphResponse:
    group_ids = action_parameter(req.json_object(), "groupIds")
    if not isinstance(group_ids, list) or not all(isinstance(g, str) for g in group_ids):
        raise bad_request("The groupIds parameter must be a list of group ids.")
    found = d.check_member_groups(user, group_ids)
    return ok({"@odata.context": f"{req.service_root}/$metadata#Collection(Edm.String)",
               "value": found})  # fmt: skip


def send_mail(req: GraphRequest, d: Directory, user: str) -> GraphResponse:
    d.send_mail(user, req.json_object())
    return no_content(202)


def register(router: Router) -> None:
    router.add("GET", "/users", list_users)
    router.add("GET", "/users/{user}", get_user)
    router.add("PATCH", "/users/{user}", patch_user)
    router.add("DELETE", "/users/{user}", delete_user)
    router.add("GET", "/users/{user}/manager", get_manager)
    router.add("GET", "/users/{user}/memberOf", member_of)
    router.add("POST", "/users/{user}/checkMemberGroups", check_member_groups)
    router.add("POST", "/users/{user}/sendMail", send_mail)
