"""Service principals and app role assignments, sites, and tenant look-up by domain."""

from __future__ import annotations

from uuid import UUID

import pytest
from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

ALICE = "00000000-0000-4000-8000-0000000a11ce"
REPORTS = "9a0e1f3d-0000-4000-8000-000000000002"
VIEWER = "1b2c3d4e-0000-4000-8000-000000000003"
SITE = (
    "contoso.sharepoint.example,5a1e0000-0000-4000-8000-000000000001,"
    "5a1e0000-0000-4000-8000-000000000002"
)
CONTOSO = "8b1a2f3e-0000-4000-8000-00000000c051"
FABRIKAM = "f0000000-0000-4000-8000-0000000fab01"


def assignment(role: str = VIEWER, principal: str = ALICE) -> AppRoleAssignment:
    return AppRoleAssignment(
        principal_id=UUID(principal), resource_id=UUID(REPORTS), app_role_id=UUID(role)
    )


async def test_service_principal_has_app_roles(graph, control):
    sp = await graph.service_principals.by_service_principal_id(REPORTS).get()
    assert sp.display_name == "Reports"
    assert {r.value for r in sp.app_roles} == {"Reports.Viewer", "Reports.Editor"}


async def test_assign_list_duplicate_and_remove(graph, control):
    assigned_to = graph.service_principals.by_service_principal_id(REPORTS).app_role_assigned_to
    created = await assigned_to.post(assignment())
    assert created.id and str(created.principal_id) == ALICE
    assert str(created.app_role_id) == VIEWER and str(created.resource_id) == REPORTS
    assert created.principal_display_name == "Alice Adams"
    assert created.created_date_time is not None

    with pytest.raises(ODataError) as err:
        await assigned_to.post(assignment())
    assert err.value.response_status_code == 400
    assert err.value.error.code == "Request_BadRequest"
    assert err.value.error.message == "Permission being assigned already exists on the object."

    listed = await assigned_to.get()
    assert [a.id for a in listed.value] == [created.id]

    await assigned_to.by_app_role_assignment_id(created.id).delete()
    assert (await assigned_to.get()).value == []
    with pytest.raises(ODataError) as err:
        await assigned_to.by_app_role_assignment_id(created.id).delete()
    assert err.value.response_status_code == 404
    assert err.value.error.code == "Request_ResourceNotFound"


async def test_assign_unknown_app_role(graph, control):
    assigned_to = graph.service_principals.by_service_principal_id(REPORTS).app_role_assigned_to
    with pytest.raises(ODataError) as err:
        await assigned_to.post(assignment(role="1b2c3d4e-0000-4000-8000-0000000000ff"))
    assert err.value.response_status_code == 400
    assert err.value.error.message == (
        "Permission being assigned was not found on application "
        "'9a0e1f3d-0000-4000-8000-0000000000a1'."
    )


async def test_get_site_with_commas_in_id(graph, control):
    site = await graph.sites.by_site_id(SITE).get()
    assert site.display_name == "Finance Site"
    assert site.web_url == "https://contoso.sharepoint.example/sites/finance"


async def test_find_tenant_by_domain(graph, control):
    relationships = graph.tenant_relationships
    partner = await relationships.find_tenant_information_by_domain_name_with_domain_name(
        "fabrikam-research.example"
    ).get()
    assert partner.tenant_id == FABRIKAM and partner.display_name == "Fabrikam"
    assert partner.default_domain_name == "fabrikam.example"

    home = await relationships.find_tenant_information_by_domain_name_with_domain_name(
        "contoso.onmicrosoft.example"
    ).get()
    assert home.tenant_id == CONTOSO

    with pytest.raises(ODataError) as err:
        await relationships.find_tenant_information_by_domain_name_with_domain_name(
            "unknown.example"
        ).get()
    assert err.value.response_status_code == 404
