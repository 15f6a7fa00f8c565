"""A distributed Map reading its items from S3 and writing its results there, through
``stepfn.run`` against a moto server (``tasks/s3_items.py``)."""

from __future__ import annotations

import gzip
import itertools
import json
from typing import Any

import boto3
import pytest

import stepfn
from moto_server import MotoServer

pytestmark = pytest.mark.integration

_names = itertools.count()


def client(moto: MotoServer) -> Any:
    return boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")


def bucket(moto: MotoServer, objects: dict[str, bytes | str] | None = None) -> str:
    """A new bucket holding ``objects``."""
    name = f"items-{next(_names)}"
    s3 = client(moto)
    s3.create_bucket(Bucket=name)
    for key, body in (objects or {}).items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    return name


def routing(moto: MotoServer) -> dict[str, Any]:
    return {"routes": [{"resource": "arn:aws:states:::*", "endpoint_url": moto.url}]}


def reading(
    reader: dict[str, Any],
    processor: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A machine whose distributed Map reads with ``reader`` and passes each item on."""
    states = processor or {"Item": {"Type": "Pass", "End": True}}
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemReader": reader,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": next(iter(states)),
                    "States": states,
                },
                "Label": "each",
                "End": True,
                **fields,
            }
        },
    }


def get_object(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": config,
        "Parameters": {"Bucket.$": "$.Bucket", "Key.$": "$.Key"},
    }


def run(moto: MotoServer, definition: dict[str, Any], given: Any) -> stepfn.Execution:
    return stepfn.run(definition, given, routing=routing(moto))


def test_a_json_array_is_read_whole_up_to_max_items(moto: MotoServer) -> None:
    name = bucket(moto, {"a.json": json.dumps([{"n": i} for i in range(5)])})
    ex = run(moto, reading(get_object({"InputType": "JSON"})), {"Bucket": name, "Key": "a.json"})
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [{"n": i} for i in range(5)]
    assert len(ex.children) == 5
    assert [json.loads(c.history[0]["executionStartedEventDetails"]["input"]) for c in ex.children]
    limited = reading(get_object({"InputType": "JSON", "MaxItems": 2}))
    ex = run(moto, limited, {"Bucket": name, "Key": "a.json"})
    assert ex.output == [{"n": 0}, {"n": 1}]
    types = [event["type"] for event in ex.history]
    assert types[:5] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
    ]


def test_json_lines_skip_blank_lines_and_stop_at_max_items_path(moto: MotoServer) -> None:
    name = bucket(moto, {"a.jsonl": '{"n": 1}\n\n[2]\n"three"\n4\n'})
    config = {"InputType": "JSONL", "MaxItemsPath": "$.limit"}
    ex = run(moto, reading(get_object(config)), {"Bucket": name, "Key": "a.jsonl", "limit": 3})
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [{"n": 1}, [2], "three"]


def test_csv_with_a_header_row_and_a_delimiter(moto: MotoServer) -> None:
    name = bucket(moto, {"a.csv": 'id|name\n1|"a|b"\n2\n'})
    config = {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "CSVDelimiter": "PIPE"}
    ex = run(moto, reading(get_object(config)), {"Bucket": name, "Key": "a.csv"})
    assert ex.status == "SUCCEEDED", ex.cause
    # A short row's missing fields are empty strings, as AWS gives them.
    assert ex.output == [{"id": "1", "name": "a|b"}, {"id": "2", "name": ""}]


def test_csv_with_given_headers_drops_extra_fields(moto: MotoServer) -> None:
    name = bucket(moto, {"a.csv": "1,2,3\n4,5,6\n"})
    config = {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["x", "y"]}
    ex = run(moto, reading(get_object(config)), {"Bucket": name, "Key": "a.csv"})
    assert ex.output == [{"x": "1", "y": "2"}, {"x": "4", "y": "5"}]


def test_an_inventory_manifest_reads_its_gzipped_csv_files(moto: MotoServer) -> None:
    rows = b'"src","photos/a.jpg","10"\n"src","photos/b.jpg","20"\n'
    manifest = {
        "sourceBucket": "src",
        "destinationBucket": "arn:aws:s3:::PLACE",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "inv/data/one.csv.gz", "size": 1, "MD5checksum": "x"}],
    }
    name = bucket(moto, {"inv/data/one.csv.gz": gzip.compress(rows)})
    manifest["destinationBucket"] = f"arn:aws:s3:::{name}"
    client(moto).put_object(Bucket=name, Key="inv/manifest.json", Body=json.dumps(manifest))
    ex = run(
        moto,
        reading(get_object({"InputType": "MANIFEST"})),
        {"Bucket": name, "Key": "inv/manifest.json"},
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [
        {"Bucket": "src", "Key": "photos/a.jpg", "Size": "10"},
        {"Bucket": "src", "Key": "photos/b.jpg", "Size": "20"},
    ]


def test_list_objects_pages_through_a_prefix_with_aws_item_shapes(moto: MotoServer) -> None:
    name = bucket(moto, {f"in/{i}.txt": "x" * i for i in range(1, 6)} | {"out/x": "y"})
    reader = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        # MaxKeys of 2: five objects are three pages, all read.
        "Parameters": {"Bucket.$": "$.Bucket", "Prefix": "in/", "MaxKeys": 2},
    }
    ex = run(moto, reading(reader), {"Bucket": name})
    assert ex.status == "SUCCEEDED", ex.cause
    assert [item["Key"] for item in ex.output] == [f"in/{i}.txt" for i in range(1, 6)]
    first = ex.output[0]
    assert set(first) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
    assert first["Etag"].startswith('"') and isinstance(first["LastModified"], int)
    assert (first["Size"], first["StorageClass"]) == (1, "STANDARD")


def test_max_items_must_be_positive(moto: MotoServer) -> None:
    name = bucket(moto, {"a.json": "[1]"})
    config = {"InputType": "JSON", "MaxItemsPath": "$.limit"}
    ex = run(moto, reading(get_object(config)), {"Bucket": name, "Key": "a.json", "limit": 0})
    assert (ex.status, ex.error, ex.cause) == (
        "FAILED",
        "States.ItemReaderFailed",
        "field MaxItems must be positive",
    )
    assert [e["type"] for e in ex.history][-3:] == [
        "MapRunFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]


def test_a_missing_bucket_or_key_fails_the_map_run(moto: MotoServer) -> None:
    name = bucket(moto)
    ex = run(moto, reading(get_object({"InputType": "JSON"})), {"Bucket": name, "Key": "nope"})
    assert (ex.status, ex.error) == ("FAILED", "States.ItemReaderFailed")
    assert ex.cause.startswith("The specified key does not exist. (Service: S3, Status Code: 404")
    ex = run(
        moto, reading(get_object({"InputType": "JSON"})), {"Bucket": "no-such-one", "Key": "k"}
    )
    assert (ex.status, ex.error) == ("FAILED", "States.ItemReaderFailed")
    assert ex.cause.startswith("The specified bucket does not exist (Service: S3")
    # The Map's Catch sees the error like any other.
    caught = reading(
        get_object({"InputType": "JSON"}),
        Catch=[{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "Handled"}],
    )
    del caught["States"]["Each"]["End"]
    caught["States"]["Each"]["Next"] = "Handled"
    caught["States"]["Handled"] = {"Type": "Pass", "End": True}
    ex = run(moto, caught, {"Bucket": name, "Key": "nope"})
    assert ex.status == "SUCCEEDED" and ex.output["Error"] == "States.ItemReaderFailed"


def test_a_json_object_that_is_not_an_array_fails(moto: MotoServer) -> None:
    name = bucket(moto, {"a.json": '{"a": 1}'})
    ex = run(moto, reading(get_object({"InputType": "JSON"})), {"Bucket": name, "Key": "a.json"})
    assert (ex.status, ex.error) == ("FAILED", "States.ItemReaderFailed")


def test_item_selector_applies_to_items_read(moto: MotoServer) -> None:
    name = bucket(moto, {"a.json": json.dumps(["a", "b"])})
    definition = reading(
        get_object({"InputType": "JSON"}),
        ItemSelector={"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
    )
    ex = run(moto, definition, {"Bucket": name, "Key": "a.json"})
    assert ex.output == [{"value": "a", "index": 0}, {"value": "b", "index": 1}]


def test_item_batcher_groups_items_read(moto: MotoServer) -> None:
    name = bucket(moto, {"a.json": json.dumps(list(range(5)))})
    definition = reading(
        get_object({"InputType": "JSON"}),
        ItemBatcher={"MaxItemsPerBatchPath": "$.per", "BatchInput": {"run.$": "$.tag"}},
    )
    ex = run(moto, definition, {"Bucket": name, "Key": "a.json", "tag": "t", "per": 2})
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == [
        {"BatchInput": {"run": "t"}, "Items": [0, 1]},
        {"BatchInput": {"run": "t"}, "Items": [2, 3]},
        {"BatchInput": {"run": "t"}, "Items": [4]},
    ]
    # MaxInputBytesPerBatch: "[10,11]" is 7 bytes of items; 4 bytes hold one each.
    name = bucket(moto, {"a.json": json.dumps([10, 11, 12])})
    definition = reading(
        get_object({"InputType": "JSON"}), ItemBatcher={"MaxInputBytesPerBatch": 4}
    )
    ex = run(moto, definition, {"Bucket": name, "Key": "a.json"})
    assert ex.output == [{"Items": [10, 11]}, {"Items": [12]}]


def writing(moto: MotoServer, **writer: Any) -> tuple[str, dict[str, Any]]:
    """A bucket for results and a machine whose Map fails on items over 2 (tolerated)."""
    results = bucket(moto)
    processor = {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Bad"}],
            "Default": "Good",
        },
        "Bad": {"Type": "Fail", "Error": "TooBig", "Cause": "over two"},
        "Good": {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.done", "End": True},
    }
    definition = reading(
        get_object({"InputType": "JSON"}),
        processor,
        ToleratedFailureCount=5,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": results, "Prefix": "runs"},
            **writer,
        },
    )
    definition["States"]["Each"]["ItemSelector"] = {"n.$": "$$.Map.Item.Value"}
    processor["Check"]["Choices"][0]["Variable"] = "$.n"
    return results, definition


def read_json(moto: MotoServer, name: str, key: str) -> Any:
    return json.loads(client(moto).get_object(Bucket=name, Key=key)["Body"].read())


def test_result_writer_writes_aws_manifest_and_result_files(moto: MotoServer) -> None:
    name = bucket(moto, {"a.json": "[1, 2, 3, 4]"})
    results, definition = writing(moto)
    ex = run(moto, definition, {"Bucket": name, "Key": "a.json"})
    assert ex.status == "SUCCEEDED", ex.cause
    run_arn = ex.output["MapRunArn"]
    run_id = run_arn.rsplit(":", 1)[-1]
    assert ":mapRun:stepfn/each:" in run_arn
    assert ex.output["ResultWriterDetails"] == {
        "Bucket": results,
        "Key": f"runs/{run_id}/manifest.json",
    }
    manifest = read_json(moto, results, f"runs/{run_id}/manifest.json")
    assert manifest["DestinationBucket"] == results and manifest["MapRunArn"] == run_arn
    files = manifest["ResultFiles"]
    assert [f["Key"] for f in files["SUCCEEDED"]] == [f"runs/{run_id}/SUCCEEDED_0.json"]
    assert [f["Key"] for f in files["FAILED"]] == [f"runs/{run_id}/FAILED_0.json"]
    assert files["PENDING"] == []
    succeeded = read_json(moto, results, f"runs/{run_id}/SUCCEEDED_0.json")
    failed = read_json(moto, results, f"runs/{run_id}/FAILED_0.json")
    assert files["SUCCEEDED"][0]["Size"] > 0
    assert [json.loads(e["Input"]) for e in succeeded] == [{"n": 1}, {"n": 2}]
    assert [json.loads(e["Output"]) for e in succeeded] == [
        {"n": 1, "done": {"ok": True}},
        {"n": 2, "done": {"ok": True}},
    ]
    first = succeeded[0]
    assert set(first) == {
        "ExecutionArn", "Input", "InputDetails", "Name", "Output", "OutputDetails",
        "RedriveCount", "RedriveStatus", "RedriveStatusReason", "StartDate",
        "StateMachineArn", "Status", "StopDate",
    }  # fmt: skip
    assert first["Status"] == "SUCCEEDED" and first["StartDate"].endswith("Z")
    assert first["ExecutionArn"] == ex.children[0].execution_arn
    assert [(e["Status"], e["Error"], e["Cause"]) for e in failed] == [
        ("FAILED", "TooBig", "over two"),
        ("FAILED", "TooBig", "over two"),
    ]


def test_writer_config_compact_json_lines(moto: MotoServer) -> None:
    name = bucket(moto, {"a.json": "[1, 2]"})
    config = {"OutputType": "JSONL", "Transformation": "COMPACT"}
    results, definition = writing(moto, WriterConfig=config)
    ex = run(moto, definition, {"Bucket": name, "Key": "a.json"})
    assert ex.status == "SUCCEEDED", ex.cause
    run_id = ex.output["MapRunArn"].rsplit(":", 1)[-1]
    body = client(moto).get_object(Bucket=results, Key=f"runs/{run_id}/SUCCEEDED_0.json")
    lines = body["Body"].read().decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"n": 1, "done": {"ok": True}},
        {"n": 2, "done": {"ok": True}},
    ]


def test_writing_to_a_missing_bucket_fails_the_map_run(moto: MotoServer) -> None:
    name = bucket(moto, {"a.json": "[1]"})
    _, definition = writing(moto)
    definition["States"]["Each"]["ResultWriter"]["Parameters"]["Bucket"] = "no-such-results"
    ex = run(moto, definition, {"Bucket": name, "Key": "a.json"})
    assert (ex.status, ex.error) == ("FAILED", "States.ResultWriterFailed")
    assert ex.cause.startswith("The specified bucket does not exist (Service: S3")
    assert [e["type"] for e in ex.history][-3:] == [
        "MapRunFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]


# --- a map run that fails writes its results too ---------------------------------------------


def results_of(moto: MotoServer, results: str, run_arn: str) -> dict[str, list[Any]]:
    """The entries of each result file the map run's manifest names, by status."""
    run_id = run_arn.rsplit(":", 1)[-1]
    manifest = read_json(moto, results, f"runs/{run_id}/manifest.json")
    assert manifest["MapRunArn"] == run_arn
    return {
        status: [entry for f in files for entry in read_json(moto, results, f["Key"])]
        for status, files in manifest["ResultFiles"].items()
    }


def map_run_arn(history: list[dict[str, Any]]) -> str:
    started = next(e for e in history if e["type"] == "MapRunStarted")
    return str(started["mapRunStartedEventDetails"]["mapRunArn"])


def test_a_map_run_over_its_tolerated_failures_writes_its_results(moto: MotoServer) -> None:
    name = bucket(moto, {"a.json": "[1, 2, 3, 4, 5, 6]"})
    results, definition = writing(moto)
    each = definition["States"]["Each"]
    each["ToleratedFailureCount"] = 1  # the second failure (item 4) fails the run
    each["MaxConcurrency"] = 1  # one child at a time: items 5 and 6 never start
    ex = run(moto, definition, {"Bucket": name, "Key": "a.json"})
    assert (ex.status, ex.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert ex.cause == "The specified tolerated failure threshold was exceeded"
    assert [e["type"] for e in ex.history][-3:] == [
        "MapRunFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]
    files = results_of(moto, results, map_run_arn(ex.history))
    assert [json.loads(e["Input"]) for e in files["SUCCEEDED"]] == [{"n": 1}, {"n": 2}]
    assert [(json.loads(e["Input"]), e["Error"]) for e in files["FAILED"]] == [
        ({"n": 3}, "TooBig"),
        ({"n": 4}, "TooBig"),
    ]
    # Items never started: the item as read (no ItemSelector has made a child's input).
    assert files["PENDING"] == [
        {"Input": "5", "Status": "PENDING"},
        {"Input": "6", "Status": "PENDING"},
    ]


def test_a_failing_child_without_a_tolerance_still_gets_its_results_written(
    moto: MotoServer,
) -> None:
    name = bucket(moto, {"a.json": "[1, 3]"})
    results, definition = writing(moto)
    del definition["States"]["Each"]["ToleratedFailureCount"]
    definition["States"]["Each"]["MaxConcurrency"] = 1
    ex = run(moto, definition, {"Bucket": name, "Key": "a.json"})
    assert (ex.status, ex.error, ex.cause) == ("FAILED", "TooBig", "over two")
    files = results_of(moto, results, map_run_arn(ex.history))
    assert [e["Status"] for e in files["SUCCEEDED"]] == ["SUCCEEDED"]
    assert [(e["Status"], e["Cause"]) for e in files["FAILED"]] == [("FAILED", "over two")]
    assert files["PENDING"] == []


def test_a_failed_map_run_whose_write_fails_keeps_its_own_error(moto: MotoServer) -> None:
    name = bucket(moto, {"a.json": "[3]"})
    _, definition = writing(moto)
    each = definition["States"]["Each"]
    each["ToleratedFailureCount"] = 0
    each["ResultWriter"]["Parameters"]["Bucket"] = "no-such-results"
    ex = run(moto, definition, {"Bucket": name, "Key": "a.json"})
    assert (ex.status, ex.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")


def test_a_failed_map_run_writes_its_results_through_the_engine(moto: MotoServer) -> None:
    from stepfn.service.engine import Engine

    name = bucket(moto, {"a.json": "[1, 3, 4, 5]"})
    results, definition = writing(moto)
    each = definition["States"]["Each"]
    each["ToleratedFailureCount"] = 1
    each["MaxConcurrency"] = 1
    engine = Engine.open(":memory:", routing=routing(moto))
    try:
        machine = engine.create_state_machine(
            name="failing-map",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/stepfn",
        )["stateMachineArn"]
        arn = engine.start_execution(
            stateMachineArn=machine, input=json.dumps({"Bucket": name, "Key": "a.json"})
        )["executionArn"]
        done = engine.describe_execution(executionArn=arn)
        for _ in range(200):
            engine.run_until_idle()
            done = engine.describe_execution(executionArn=arn)
            if done["status"] != "RUNNING":
                break
        assert (done["status"], done["error"]) == (
            "FAILED",
            "States.ExceedToleratedFailureThreshold",
        )
        history = engine.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        run_arn = map_run_arn(history)
        files = results_of(moto, results, run_arn)
        assert [json.loads(e["Input"]) for e in files["SUCCEEDED"]] == [{"n": 1}]
        assert sorted(json.loads(e["Input"])["n"] for e in files["FAILED"]) == [3, 4]
        assert files["PENDING"] == [{"Input": "5", "Status": "PENDING"}]
        assert engine.describe_map_run(mapRunArn=run_arn)["status"] == "FAILED"
    finally:
        engine.close()
