"""How the deployed worker runs workflows, from its environment (worker.workflow_tuning)."""

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner

from worker import DEFAULT_MAX_CACHED_WORKFLOWS, workflow_tuning


def test_the_deployed_worker_runs_without_the_sandbox_and_a_large_cache_by_default():
    tuning = workflow_tuning({})
    assert isinstance(tuning["workflow_runner"], UnsandboxedWorkflowRunner)
    assert tuning["max_cached_workflows"] == DEFAULT_MAX_CACHED_WORKFLOWS


def test_the_sandbox_can_be_turned_on_and_the_cache_sized():
    tuning = workflow_tuning(
        {"ACCESSCTL_WORKFLOW_SANDBOX": "On", "ACCESSCTL_MAX_CACHED_WORKFLOWS": "500"}
    )
    assert "workflow_runner" not in tuning  # the SDK's default: the sandbox
    assert tuning["max_cached_workflows"] == 500


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ACCESSCTL_WORKFLOW_SANDBOX", "maybe"), ("ACCESSCTL_MAX_CACHED_WORKFLOWS", "lots")],
)
def test_a_bad_setting_is_named(variable, value):
    with pytest.raises(ValueError, match=variable):
        workflow_tuning({variable: value})
