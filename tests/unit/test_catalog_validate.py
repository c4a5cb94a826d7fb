"""`accessctl catalog validate`: the example passes; each broken catalog names its problem."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from entitlements.loading import InvalidCatalogError, load_catalog
from starter.cli import app

EXAMPLE = Path(__file__).parents[2] / "examples" / "catalog.yaml"
runner = CliRunner()


def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def validate(tmp_path: Path, data: dict):
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return runner.invoke(app, ["catalog", "validate", str(path)])


def finance(data: dict) -> dict:
    return data["catalogs"][0]


def reports_package(data: dict) -> dict:
    return finance(data)["accessPackages"][0]


def employees_stage(data: dict) -> dict:
    return reports_package(data)["assignmentPolicies"][0]["requestApprovalSettings"]["stages"][0]


def test_the_example_catalog_is_valid_with_a_one_line_summary():
    result = runner.invoke(app, ["catalog", "validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    assert "valid: 2 catalogs, 4 resources, 3 access packages, 4 policies" in result.output


def _unknown_resource(d):
    reports_package(d)["resourceRoleScopes"][0]["resource"] = "payroll"


def _unknown_catalog(d):
    package = copy.deepcopy(reports_package(d))
    package.update(id="hr-reports", catalog="hr", incompatibleAccessPackages=[])
    d["accessPackages"] = [package]


def _unknown_connected_org(d):
    policy = reports_package(d)["assignmentPolicies"][1]
    policy["specificAllowedTargets"][0]["connectedOrganization"] = "contoso-partners"


def _four_stages(d):
    settings = reports_package(d)["assignmentPolicies"][1]["requestApprovalSettings"]
    settings["stages"] = settings["stages"] * 2


def _escalation_without_approvers(d):
    stage = employees_stage(d)
    stage["escalationApprovers"] = []
    stage["fallbackEscalationApprovers"] = []


def _escalation_not_shorter(d):
    employees_stage(d)["durationBeforeEscalation"] = "P14D"


def _duplicate_package(d):
    finance(d)["accessPackages"][1]["id"] = "finance-reports"


def _duplicate_resource(d):
    finance(d)["resources"][1]["id"] = "finance-read"


def _duplicate_policy(d):
    reports_package(d)["assignmentPolicies"][1]["id"] = "employees"


def _unknown_role(d):
    reports_package(d)["resourceRoleScopes"][1]["role"] = "Reports.Admin"


def _unknown_incompatible_package(d):
    reports_package(d)["incompatibleAccessPackages"] = ["finance-delete"]


def _bad_duration(d):
    reports_package(d)["assignmentPolicies"][0]["expiration"]["duration"] = "14 days"


def _bad_regex(d):
    reports_package(d)["assignmentPolicies"][0]["questions"][0]["regexPattern"] = "^CC-[0-9"


def _typo_in_field(d):
    reports_package(d)["assignmentPolicies"][0]["requestorSettings"]["enableTargetToSelfAdd"] = True


BROKEN: list[tuple[Callable[[dict], None], str, str]] = [
    (
        _unknown_resource,
        "catalogs[0].accessPackages[0].resourceRoleScopes[0].resource",
        "unknown resource 'payroll'",
    ),
    (_unknown_catalog, "accessPackages[0].catalog", "unknown catalog 'hr'"),
    (
        _unknown_connected_org,
        "catalogs[0].accessPackages[0].assignmentPolicies[1].specificAllowedTargets[0]"
        ".connectedOrganization",
        "unknown connected organization 'contoso-partners'",
    ),
    (
        _four_stages,
        "assignmentPolicies[1].requestApprovalSettings.stages",
        "4 approval stages given; at most 3 are allowed",
    ),
    (
        _escalation_without_approvers,
        "requestApprovalSettings.stages[0]",
        "isEscalationEnabled is true but no escalationApprovers are named",
    ),
    (
        _escalation_not_shorter,
        "requestApprovalSettings.stages[0]",
        "durationBeforeEscalation must be shorter than durationBeforeAutomaticDenial (P14D is not "
        "shorter than P14D)",
    ),
    (
        _duplicate_package,
        "catalogs[0].accessPackages[1].id",
        "duplicate access package id 'finance-reports'",
    ),
    (
        _duplicate_resource,
        "catalogs[0].resources[1].id",
        "duplicate resource (in catalog finance) id 'finance-read'",
    ),
    (
        _duplicate_policy,
        "assignmentPolicies[1].id",
        "duplicate policy (in package finance-reports) id 'employees'",
    ),
    (_unknown_role, "resourceRoleScopes[1].role", "unknown role 'Reports.Admin'"),
    (
        _unknown_incompatible_package,
        "incompatibleAccessPackages[0]",
        "unknown access package 'finance-delete'",
    ),
    (
        _bad_duration,
        "assignmentPolicies[0].expiration.duration",
        "'14 days' is not an ISO 8601 duration",
    ),
    (_bad_regex, "questions[0].regexPattern", "regexPattern does not compile"),
    (_typo_in_field, "requestorSettings.enableTargetToSelfAdd", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(
    ("break_it", "path", "message"), BROKEN, ids=lambda v: getattr(v, "__name__", None)
)
def test_each_broken_catalog_is_refused_naming_the_place_and_the_problem(
    tmp_path, break_it, path, message
):
    data = example()
    break_it(data)
    result = validate(tmp_path, data)
    assert result.exit_code == 1
    problem_lines = [line for line in result.output.splitlines() if path in line]
    assert problem_lines, result.output
    assert any(message in line for line in problem_lines), result.output
    assert "line " in problem_lines[0]


def test_every_problem_is_listed_not_only_the_first(tmp_path):
    data = example()
    _duplicate_package(data)
    _unknown_resource(data)
    _unknown_connected_org(data)
    result = validate(tmp_path, data)
    assert result.exit_code == 1
    for message in (
        "duplicate access package id 'finance-reports'",
        "unknown resource 'payroll'",
        "unknown connected organization 'contoso-partners'",
    ):
        assert message in result.output


def test_problems_carry_the_line_of_the_offending_value(tmp_path):
    data = example()
    _unknown_resource(data)
    path = tmp_path / "catalog.yaml"
    text = yaml.safe_dump(data, sort_keys=False)
    path.write_text(text)
    with pytest.raises(InvalidCatalogError) as caught:
        load_catalog(path)
    [problem] = caught.value.problems
    assert "payroll" in text.splitlines()[problem.line - 1]


def test_json_output_lists_problems_for_scripts(tmp_path):
    data = example()
    _unknown_resource(data)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["catalog", "validate", str(path), "--json"])
    assert result.exit_code == 1
    import json

    report = json.loads(result.output)
    assert report["valid"] is False
    assert report["problems"][0]["path"].endswith("resourceRoleScopes[0].resource")


def test_a_missing_file_and_non_yaml_are_problems_not_tracebacks(tmp_path):
    result = runner.invoke(app, ["catalog", "validate", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 1
    assert "cannot read the file" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("catalogs: [\n")
    result = runner.invoke(app, ["catalog", "validate", str(broken)])
    assert result.exit_code == 1
    assert "not valid YAML" in result.output


def test_durations_accept_any_iso_length_down_to_seconds(tmp_path):
    data = example()
    policy = reports_package(data)["assignmentPolicies"][0]
    policy["expiration"]["duration"] = "PT30S"
    employees_stage(data).update(
        durationBeforeEscalation="PT5S", durationBeforeAutomaticDenial="PT10S"
    )
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    catalog = load_catalog(path)
    [(_, package), *_] = list(catalog.packages())
    assert package.assignment_policies[0].expiration.duration.total_seconds() == 30
