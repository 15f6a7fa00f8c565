"""A distributed Map's ItemReader and ResultWriter as the pure interpreter sees them:
tasks it asks for (``InvokeTask`` on the S3 resources), answered with the items read or
the manifest written; their failures fail the map run with AWS's error names."""

from __future__ import annotations

from typing import Any

import pytest

from stepfn.clock import IdSource
from stepfn.definition.model import build
from stepfn.interp.commands import CancelTask, InvokeTask, StartChildExecution, Stop
from stepfn.interp.context import execution_info
from stepfn.interp.item_reader import MAX_ITEMS_LIMIT, ReaderFailed, group, max_items
from stepfn.interp.machine import (
    Interpreter,
    RunState,
    Start,
    StepResult,
    TaskFailed,
    TaskSucceeded,
)
from stepfn.interp.runstate import run_state_from_json, run_state_to_json

GET = "arn:aws:states:::s3:getObject"
PUT = "arn:aws:states:::s3:putObject"


def machine(execution_type: str = "STANDARD", jsonata: bool = False, **fields: Any) -> Any:
    reader: dict[str, Any] = {"Resource": GET, "ReaderConfig": {"InputType": "CSV"}}
    if jsonata:
        reader["Arguments"] = {"Bucket": "{% $states.input.b %}", "Key": "k"}
        reader["ReaderConfig"]["MaxItems"] = "{% $states.input.max %}"
    else:
        reader["Parameters"] = {"Bucket.$": "$.b", "Key": "k"}
        reader["ReaderConfig"]["MaxItemsPath"] = "$.max"
    state = {
        "Type": "Map",
        "Label": "each",
        "ItemReader": reader,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
            "StartAt": "Item",
            "States": {"Item": {"Type": "Pass", "End": True}},
        },
        "End": True,
        **fields,
    }
    definition: dict[str, Any] = {"StartAt": "M", "States": {"M": state}}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return build(definition)


def interpreter(model: Any, given: Any) -> Interpreter:
    info = execution_info("parent", given, 1000.0, state_machine_name="sm")
    return Interpreter(model, info, IdSource(3))


def invokes(result: StepResult) -> list[InvokeTask]:
    return [c for c in result.commands if isinstance(c, InvokeTask)]


def types(result: StepResult) -> list[str]:
    return [e.type for e in result.events]


@pytest.mark.parametrize("jsonata", [False, True])
def test_entering_the_map_asks_for_its_items(jsonata: bool) -> None:
    interp = interpreter(machine(jsonata=jsonata), {"b": "bucket", "max": "2"})
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    assert types(result) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
    ]
    (read,) = invokes(result)
    assert read.resource == GET and read.state_name == "M"
    assert read.payload == {
        "Parameters": {"Bucket": "bucket", "Key": "k"},
        "ReaderConfig": {"InputType": "CSV", "MaxItems": 2},
    }
    # The read survives a JSON round trip of the run state, then its items start children.
    run = run_state_from_json(run_state_to_json(run))
    answered = interp.step(run, TaskSucceeded(read.token, ["x", "y"]), 1001.0)
    started = [c for c in answered.commands if isinstance(c, StartChildExecution)]
    assert [c.index for c in started] == [0, 1]
    assert run.status == "SUCCEEDED" and run.output == ["x", "y"]
    assert types(answered) == [
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]


def test_max_items_must_be_positive_before_anything_is_read() -> None:
    interp = interpreter(machine(), {"b": "bucket", "max": -1})
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    assert invokes(result) == []
    assert (run.status, run.error, run.cause) == (
        "FAILED",
        "States.ItemReaderFailed",
        "field MaxItems must be positive",
    )
    assert types(result)[-3:] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]


def test_a_failed_read_is_item_reader_failed_with_the_cause_kept() -> None:
    interp = interpreter(machine(), {"b": "bucket", "max": 5})
    run = RunState()
    (read,) = invokes(interp.step(run, Start(), 1000.0))
    result = interp.step(run, TaskFailed(read.token, "S3.NoSuchKeyException", "no key"), 1001.0)
    assert (run.status, run.error, run.cause) == ("FAILED", "States.ItemReaderFailed", "no key")
    assert types(result) == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]


def test_a_stop_while_reading_cancels_the_read() -> None:
    interp = interpreter(machine(), {"b": "bucket", "max": 5})
    run = RunState()
    (read,) = invokes(interp.step(run, Start(), 1000.0))
    result = interp.step(run, Stop(), 1001.0)
    assert CancelTask(read.token) in result.commands
    assert run.status == "ABORTED"
    # A late answer changes nothing.
    assert interp.step(run, TaskSucceeded(read.token, [1]), 1002.0).events == []


def writer_machine(execution_type: str = "STANDARD") -> Any:
    return machine(
        execution_type,
        ResultWriter={"Resource": PUT, "Parameters": {"Bucket": "out", "Prefix.$": "$.b"}},
    )


def test_the_result_writer_is_asked_with_the_map_run_not_the_outputs() -> None:
    interp = interpreter(writer_machine(), {"b": "bucket", "max": 5})
    run = RunState()
    (read,) = invokes(interp.step(run, Start(), 1000.0))
    result = interp.step(run, TaskSucceeded(read.token, ["x", "y"]), 1001.0)
    (write,) = invokes(result)
    assert write.resource == PUT
    map_run = write.payload["MapRunArn"]
    assert ":mapRun:sm/each:" in map_run
    assert write.payload == {
        "Parameters": {"Bucket": "out", "Prefix": "bucket"},
        "WriterConfig": {},
        "MapRunArn": map_run,
        "MapRunEventId": 4,
        "ExecutionType": "STANDARD",
    }
    # The children's outputs are stored executions: the run state does not keep them.
    fan = run.threads[""].fan
    assert fan is not None and fan.results == [None, None] and fan.items == [None, None]
    details = {"Bucket": "out", "Key": "bucket/x/manifest.json"}
    done = interp.step(run, TaskSucceeded(write.token, details), 1002.0)
    assert run.output == {"MapRunArn": map_run, "ResultWriterDetails": details}
    assert types(done) == [
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]


def test_express_children_outcomes_travel_with_the_write() -> None:
    interp = interpreter(writer_machine("EXPRESS"), {"b": "bucket", "max": 5})
    run = RunState()
    (read,) = invokes(interp.step(run, Start(), 1000.0))
    (write,) = invokes(interp.step(run, TaskSucceeded(read.token, [{"a": 1}]), 1001.0))
    assert write.payload["Results"] == [{"Status": "SUCCEEDED", "Output": '{"a":1}'}]


def test_a_failed_write_is_result_writer_failed() -> None:
    interp = interpreter(writer_machine(), {"b": "bucket", "max": 5})
    run = RunState()
    (read,) = invokes(interp.step(run, Start(), 1000.0))
    (write,) = invokes(interp.step(run, TaskSucceeded(read.token, [1]), 1001.0))
    result = interp.step(run, TaskFailed(write.token, "S3.NoSuchBucketException", "gone"), 1002.0)
    assert (run.status, run.error, run.cause) == ("FAILED", "States.ResultWriterFailed", "gone")
    assert types(result) == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]


def test_batches_by_count_and_by_bytes() -> None:
    assert group([1, 2, 3], 2, None) == [{"Items": [1, 2]}, {"Items": [3]}]
    assert group([1, 2, 3], None, None, {"k": 1}) == [{"BatchInput": {"k": 1}, "Items": [1, 2, 3]}]
    # Bytes of each item's JSON: "abc" 5, "d" 3, "e" 3; a batch holds at least one.
    assert group(["abc", "d", "e"], None, 6) == [{"Items": ["abc"]}, {"Items": ["d", "e"]}]
    assert group(["abcdefgh"], None, 2) == [{"Items": ["abcdefgh"]}]
    assert group([], 2, None) == []


def test_max_items_as_aws_takes_it() -> None:
    assert max_items("3") == 3 and max_items(2.0) == 2
    assert max_items(MAX_ITEMS_LIMIT + 1) == MAX_ITEMS_LIMIT
    for bad in (0, -1, "x", True, 1.5, None):
        with pytest.raises(ReaderFailed):
            max_items(bad)


def test_api_gateway_headers_are_checked_before_the_task_is_scheduled() -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::apigateway:invoke",
                "Parameters": {"ApiEndpoint": "h", "Method": "GET", "Headers": {"a": "b"}},
                "End": True,
            }
        },
    }
    interp = interpreter(build(definition), {})
    run = RunState()
    result = interp.step(run, Start(), 1000.0)
    assert invokes(result) == [] and "TaskScheduled" not in types(result)
    assert run.error == "States.Runtime"
    assert run.cause is not None and run.cause.endswith(
        "could not be used to start the Task: [The value of the field 'Headers' has an "
        "invalid format]"
    )


def test_a_redriven_map_run_reads_again_and_runs_only_the_unsuccessful() -> None:
    from stepfn.interp.commands import MapRunRedrive, Redrive, RedrivenChild

    task = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": True}
    model = machine()
    definition = dict(model.raw)
    definition["States"]["M"]["ItemProcessor"]["States"]["Item"] = task
    interp = interpreter(build(definition), {"b": "bucket", "max": 5})
    run = RunState()
    (read,) = invokes(interp.step(run, Start(), 1000.0))
    answered = interp.step(run, TaskSucceeded(read.token, ["a", "b"]), 1001.0)
    first, second = invokes(answered)
    arns = [c.arn for c in answered.commands if isinstance(c, StartChildExecution)]
    interp.step(run, TaskSucceeded(first.token, "A"), 1002.0)
    interp.step(run, TaskFailed(second.token, "Boom", "b failed"), 1003.0)
    assert run.status == "FAILED"
    children = (
        RedrivenChild(0, arns[0], "SUCCEEDED", 5, output="A"),
        RedrivenChild(1, arns[1], "FAILED", 5),
    )
    redriven = interp.step(run, Redrive(1, MapRunRedrive("mr", 4, 1, children)), 1004.0)
    assert "MapRunRedriven" in types(redriven)
    (reread,) = invokes(redriven)
    assert reread.resource == GET
    again = interp.step(run, TaskSucceeded(reread.token, ["a", "b"]), 1005.0)
    # Only the failed child runs again, as the same child execution.
    (retried,) = invokes(again)
    assert again.child_events[0].type == "ExecutionRedriven"
    assert {e.execution for e in again.child_events} == {arns[1]}
    interp.step(run, TaskSucceeded(retried.token, "B"), 1006.0)
    assert (run.status, run.output) == ("SUCCEEDED", ["A", "B"])
