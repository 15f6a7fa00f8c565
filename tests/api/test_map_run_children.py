"""A distributed Map's child executions through boto3 over HTTP: listed by their map run
(a page at a time), described, their histories read, and counted by DescribeMapRun."""

from __future__ import annotations

import json
from typing import Any

from .helpers import ROLE, finished, unique

ON_EVERY_STORE = True  # on SQLite and on PostgreSQL (see conftest.py)


def distributed(states: dict[str, Any], start: str, **fields: Any) -> dict[str, Any]:
    each = {
        "Type": "Map",
        "Label": "items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": start,
            "States": states,
        },
        "End": True,
        **fields,
    }
    return {"StartAt": "Each", "States": {"Each": each}}


def create(sfn: Any, definition: dict[str, Any]) -> str:
    arn: str = sfn.create_state_machine(
        name=unique("children"), definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    return arn


def test_children_are_listed_by_page_described_and_read(sfn: Any) -> None:
    machine = create(sfn, distributed({"Echo": {"Type": "Pass", "End": True}}, "Echo"))
    execution = sfn.start_execution(
        stateMachineArn=machine, name="parent", input=json.dumps([1, 2, 3, 4, 5])
    )["executionArn"]
    assert finished(sfn, execution)["status"] == "SUCCEEDED"
    (run,) = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    map_run = run["mapRunArn"]

    listed: list[dict[str, Any]] = []
    page = sfn.list_executions(mapRunArn=map_run, maxResults=2)
    pages = 1
    listed += page["executions"]
    while "nextToken" in page:
        page = sfn.list_executions(mapRunArn=map_run, maxResults=2, nextToken=page["nextToken"])
        listed += page["executions"]
        pages += 1
    assert (pages, len({c["executionArn"] for c in listed})) == (3, 5)
    for child in listed:
        assert child["stateMachineArn"] == f"{machine}/items"
        assert (child["mapRunArn"], child["itemCount"], child["status"]) == (
            map_run,
            1,
            "SUCCEEDED",
        )

    arn = listed[0]["executionArn"]
    assert arn.startswith(machine.replace(":stateMachine:", ":execution:") + "/items:")
    described = sfn.describe_execution(executionArn=arn)
    assert (described["mapRunArn"], described["stateMachineArn"]) == (map_run, f"{machine}/items")
    assert described["input"] == described["output"]
    history = sfn.get_execution_history(executionArn=arn)["events"]
    assert [(e["id"], e["type"]) for e in history] == [
        (1, "ExecutionStarted"),
        (2, "PassStateEntered"),
        (3, "PassStateExited"),
        (4, "ExecutionSucceeded"),
    ]
    assert history[0]["executionStartedEventDetails"]["input"] == described["input"]
    own = sfn.describe_state_machine_for_execution(executionArn=arn)
    assert (own["label"], own["mapRunArn"]) == ("items", map_run)

    counts = sfn.describe_map_run(mapRunArn=map_run)["executionCounts"]
    assert (counts["succeeded"], counts["total"], counts["pending"]) == (5, 5, 0)
    # Listed by their map run only: the parent's state machine lists the parent.
    by_machine = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["executionArn"] for e in by_machine] == [execution]


def test_a_map_run_over_its_tolerated_failures_counts_failed_and_aborted(sfn: Any) -> None:
    states = {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
            "Default": "Nap",
        },
        "Bad": {"Type": "Fail", "Error": "Two", "Cause": "two is bad"},
        "Nap": {"Type": "Wait", "Seconds": 3600, "End": True},
    }
    machine = create(sfn, distributed(states, "Check", ToleratedFailureCount=1))
    execution = sfn.start_execution(stateMachineArn=machine, input="[2, 2, 1, 1]")["executionArn"]
    failed = finished(sfn, execution)
    assert (failed["status"], failed["error"]) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
    )
    (run,) = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    described = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
    assert (described["status"], described["toleratedFailureCount"]) == ("FAILED", 1)
    expected = {
        "pending": 0,
        "running": 0,
        "succeeded": 0,
        "failed": 2,
        "timedOut": 0,
        "aborted": 2,
        "total": 4,
        "resultsWritten": 0,
    }
    assert described["executionCounts"] == expected
    assert described["itemCounts"] == expected
    statuses = sorted(
        c["status"] for c in sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"]
    )
    assert statuses == ["ABORTED", "ABORTED", "FAILED", "FAILED"]


# Item 2 fails unless its child execution has been redriven.
FAILS_UNTIL_REDRIVEN = {
    "Look": {
        "Type": "Pass",
        "Parameters": {"item.$": "$", "redrives.$": "$$.Execution.RedriveCount"},
        "Next": "Check",
    },
    "Check": {
        "Type": "Choice",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.item", "NumericEquals": 2},
                    {"Variable": "$.redrives", "NumericEquals": 0},
                ],
                "Next": "Bad",
            }
        ],
        "Default": "Good",
    },
    "Bad": {"Type": "Fail", "Error": "Two", "Cause": "not redriven yet"},
    "Good": {"Type": "Pass", "OutputPath": "$.item", "End": True},
}


def test_redriving_the_parent_redrives_its_map_run(sfn: Any) -> None:
    machine = create(sfn, distributed(FAILS_UNTIL_REDRIVEN, "Look"))
    execution = sfn.start_execution(
        stateMachineArn=machine, name="parent", input=json.dumps([1, 2, 3])
    )["executionArn"]
    assert finished(sfn, execution)["status"] == "FAILED"
    (run,) = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    map_run = run["mapRunArn"]
    before = {
        c["executionArn"]: c["status"] for c in sfn.list_executions(mapRunArn=map_run)["executions"]
    }
    assert sorted(before.values()) == ["ABORTED", "FAILED", "SUCCEEDED"]
    described = sfn.describe_map_run(mapRunArn=map_run)
    assert described["redriveCount"] == 0 and "redriveDate" not in described

    sfn.redrive_execution(executionArn=execution)
    parent = finished(sfn, execution)
    assert (parent["status"], json.loads(parent["output"]), parent["redriveCount"]) == (
        "SUCCEEDED",
        [1, 2, 3],
        1,
    )
    events = sfn.get_execution_history(executionArn=execution)["events"]
    (redriven,) = [e for e in events if e["type"] == "MapRunRedriven"]
    assert redriven["mapRunRedrivenEventDetails"] == {"mapRunArn": map_run, "redriveCount": 1}
    after = sfn.list_executions(mapRunArn=map_run)["executions"]
    assert {c["executionArn"] for c in after} == set(before)  # the same children
    for arn, status in before.items():
        child = sfn.describe_execution(executionArn=arn)
        assert child["status"] == "SUCCEEDED"
        assert child["redriveCount"] == (0 if status == "SUCCEEDED" else 1)
        history = sfn.get_execution_history(executionArn=arn)["events"]
        redrives = [e for e in history if e["type"] == "ExecutionRedriven"]
        assert [e["executionRedrivenEventDetails"] for e in redrives] == (
            [] if status == "SUCCEEDED" else [{"redriveCount": 1}]
        )
    described = sfn.describe_map_run(mapRunArn=map_run)
    assert (described["status"], described["redriveCount"]) == ("SUCCEEDED", 1)
    assert described["redriveDate"] >= described["startDate"]
    counts = described["executionCounts"]
    assert (counts["succeeded"], counts["failed"], counts["aborted"]) == (3, 0, 0)
