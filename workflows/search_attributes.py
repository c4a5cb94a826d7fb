"""The custom search attributes accessctl upserts, in one list.

The dev server flags (`make dev`), the compose stack's setup, the test fixtures and the
workflows all read this list, so an attribute cannot be used somewhere it was not registered.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

ACCESS_PACKAGE = SearchAttributeKey.for_keyword("AccessPackage")
ACCESS_CATALOG = SearchAttributeKey.for_keyword("AccessCatalog")
ACCESS_POLICY = SearchAttributeKey.for_keyword("AccessPolicy")
TARGET_USER = SearchAttributeKey.for_keyword("TargetUser")
REQUESTOR = SearchAttributeKey.for_keyword("Requestor")
REQUEST_STATE = SearchAttributeKey.for_keyword("RequestState")
# The people, and groups (by object id), who may decide now; a group is expanded by the query.
PENDING_APPROVERS = SearchAttributeKey.for_keyword_list("PendingApprovers")
ACCESS_END_TIME = SearchAttributeKey.for_datetime("AccessEndTime")

ALL = [
    ACCESS_PACKAGE,
    ACCESS_CATALOG,
    ACCESS_POLICY,
    TARGET_USER,
    REQUESTOR,
    REQUEST_STATE,
    PENDING_APPROVERS,
    ACCESS_END_TIME,
]


def upsert_changed(updates: list[SearchAttributeUpdate]) -> None:
    """In a workflow: upsert only the attributes whose value differs from the current one
    (those the workflow was started with, or last upserted). Each upsert is a history event
    and a visibility write on the server."""
    current = workflow.info().typed_search_attributes
    changed = [u for u in updates if (current.get(u.key) or None) != (u.value or None)]
    if changed:
        workflow.upsert_search_attributes(changed)


# The names the Temporal CLI uses in `--search-attribute Name=Type` and in
# `temporal operator search-attribute create --type`.
CLI_TYPE_NAMES = {
    "KEYWORD": "Keyword",
    "KEYWORD_LIST": "KeywordList",
    "DATETIME": "Datetime",
    "TEXT": "Text",
    "INT": "Int",
    "FLOAT": "Double",
    "BOOL": "Bool",
}


def cli_types() -> dict[str, str]:
    """Each attribute's name and its type as the Temporal CLI spells it."""
    return {key.name: CLI_TYPE_NAMES[key.indexed_value_type.name] for key in ALL}


if __name__ == "__main__":
    # The dev-server flags: temporal server start-dev $(python -m workflows.search_attributes)
    print(" ".join(f"--search-attribute {name}={kind}" for name, kind in cli_types().items()))
