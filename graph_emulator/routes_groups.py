"""/groups: read, soft delete, and the members and owners references ($ref)."""

from __future__ import annotations

import re

from .directory import USER_DEFAULT_PROPERTIES, Directory
from .errors import bad_request
from .responses import collection, entity, no_content
from .router import GraphRequest, GraphResponse, Router

_REFERENCE = re.compile(r"/(?:directoryObjects|users)/([^/?#]+)/?$", re.IGNORECASE)


def referenced_id(req: GraphRequest) -> str:
    """The object id in a $ref body: {"@odata.id": ".../v1.0/directoryObjects/{id}"}."""
    value = req.json_object().get("@odata.id")
    m = _REFERENCE.search(value) if isinstance(value, str) else None
    if not m:
        raise bad_request(f"Invalid object identifier '{value}'.")
    return m.group(1)


def get_group(req: GraphRequest, d: Directory, group: str) -> GraphResponse:
    return entity(req, d.group(group), "groups", "group")


def delete_group(req: GraphRequest, d: Directory, group: str) -> GraphResponse:
    d.delete_group(group)
    return no_content()


def _list(prop: str):
    def handler(req: GraphRequest, d: Directory, group: str) -> GraphResponse:
        users = d.group_refs(group, prop)
        return collection(
            req,
            users,
            "directoryObjects",
            USER_DEFAULT_PROPERTIES,
            type_names={u["id"]: "user" for u in users},
        )

    return handler


def _add(prop: str):
    def handler(req: GraphRequest, d: Directory, group: str) -> GraphResponse:
        d.add_ref(group, prop, referenced_id(req))
        return no_content()

    return handler


def _remove(prop: str):
    def handler(req: GraphRequest, d: Directory, group: str, uid: str) -> GraphResponse:
        d.remove_ref(group, prop, uid)
        return no_content()

    return handler


def register(router: Router) -> None:
    router.add("GET", "/groups/{group}", get_group)
    router.add("DELETE", "/groups/{group}", delete_group)
    for prop in ("members", "owners"):
        router.add("GET", f"/groups/{{group}}/{prop}", _list(prop))
        router.add("POST", f"/groups/{{group}}/{prop}/$ref", _add(prop))
        router.add("DELETE", f"/groups/{{group}}/{prop}/{{uid}}/$ref", _remove(prop))
