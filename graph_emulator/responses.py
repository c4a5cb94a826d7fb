"""Building Graph-shaped answers: @odata.context, $select, collections with nextLink."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, urlencode

from .errors import GraphError
from .odata import page, parse_select, project
from .router import GraphRequest, GraphResponse

JSON = {"Content-Type": "application/json;odata.metadata=minimal;odata.streaming=true"}


def context(req: GraphRequest, fragment: str) -> str:
    return f"{req.service_root}/$metadata#{fragment}"


def selected(req: GraphRequest, known: Iterable[str], type_name: str) -> list[str] | None:
    """The $select list, checked against the type's properties as Graph does."""
    select = parse_select(req.query.get("$select"))
    names = set(known)
    for prop in select or []:
        if prop not in names:
            raise GraphError(
                400,
                "BadRequest",
                f"Could not find a property named '{prop}' on type 'microsoft.graph.{type_name}'.",
            )
    return select


def entity(
    req: GraphRequest,
    obj: dict,
    entity_set: str,
    type_name: str,
    default: Iterable[str] | None = None,
    status: int = 200,
    odata_type: bool = False,
) -> GraphResponse:
    """One object, projected by $select or the type's default properties."""
    known = [k for k in obj if not k.startswith("_")]
    select = selected(req, known, type_name)
    body = project(obj, select, default)
    if odata_type:
        body = {"@odata.type": f"#microsoft.graph.{type_name}", **body}
    fragment = f"{entity_set}({','.join(select)})/$entity" if select else f"{entity_set}/$entity"
    return GraphResponse(status, {"@odata.context": context(req, fragment), **body}, dict(JSON))


def collection(
    req: GraphRequest,
    items: list[dict],
    fragment: str,
    default: Iterable[str] | None = None,
    type_names: dict[str, str] | None = None,
) -> GraphResponse:
    """A page of a collection. `type_names` maps object id -> type for directoryObject lists."""
    known = {k for obj in items for k in obj if not k.startswith("_")}
    select = selected(req, known, "directoryObject") if items else None
    chunk, next_offset = page(items, req.query, req.page_size)
    values = []
    for obj in chunk:
        body = project(obj, select, default)
        if type_names is not None:
            body = {"@odata.type": f"#microsoft.graph.{type_names[obj['id']]}", **body}
        values.append(body)
    out: dict = {"@odata.context": context(req, fragment)}
    if next_offset is not None:
        query = {k: v for k, v in req.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = str(next_offset)
        path = quote(req.path, safe="/$@,()'=:")
        out["@odata.nextLink"] = f"{req.service_root}{path}?{urlencode(query, safe='$,()')}"
    out["value"] = values
    return GraphResponse(200, out, dict(JSON))


def ok(body: dict, status: int = 200) -> GraphResponse:
    return GraphResponse(status, body, dict(JSON))


def no_content(status: int = 204) -> GraphResponse:
    return GraphResponse(status)
