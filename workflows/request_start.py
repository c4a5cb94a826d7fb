"""How a request workflow starts, wherever it is started from (the client, a bulk direct
assignment): the search attributes an operator filters on from the first moment, and the
summary the Temporal UI shows. Its id is the request id, one per package and user, so a
second start for the same user fails while the first runs (`openRequestExists`)."""

from __future__ import annotations

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from entitlements.requests import AccessRequestInput
from entitlements.status import RequestState
from workflows import search_attributes


def request_search_attributes(request: AccessRequestInput) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.ACCESS_PACKAGE, request.package.id),
            SearchAttributePair(search_attributes.ACCESS_CATALOG, request.package.catalog_id),
            SearchAttributePair(search_attributes.ACCESS_POLICY, request.policy.id),
            SearchAttributePair(search_attributes.TARGET_USER, request.target.key),
            SearchAttributePair(search_attributes.REQUESTOR, request.requestor.key),
            SearchAttributePair(
                search_attributes.REQUEST_STATE, RequestState.PENDING_APPROVAL.value
            ),
        ]
    )


def request_summary(request: AccessRequestInput) -> str:
    return (
        f"{request.package.display_name} for {request.target.label()} "
        f"({request.request_type.value} by {request.requestor.key})"
    )


def already_open(request_id: str) -> str:
    return f"an open request or active assignment already exists: {request_id}"
