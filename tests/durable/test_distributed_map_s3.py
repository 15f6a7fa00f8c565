"""A distributed Map reading S3 and writing its results back, through the durable engine
(SQLite store, background loop) against a moto server: its items are stored child
executions, its read and its write are tasks the worker carries out after its commits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from moto_server import MotoServer, running_moto
from stepfn.service.engine import Engine

ROLE = "arn:aws:iam::123456789012:role/stepfn"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with running_moto() as server:
        yield server


@pytest.fixture
def engine(moto: MotoServer, tmp_path: Path) -> Iterator[Engine]:
    routing = {"routes": [{"resource": "arn:aws:states:::*", "endpoint_url": moto.url}]}
    made = Engine.open(str(tmp_path / "stepfn.db"), routing=routing)
    yield made
    made.close()


def s3(moto: MotoServer) -> Any:
    return boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")


def machine(bucket: str, key: str, results: str, **processor: Any) -> dict[str, Any]:
    states = processor or {"Double": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "End": True}}
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "Label": "each",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSONL"},
                    "Parameters": {"Bucket": bucket, "Key": key},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": next(iter(states)),
                    "States": states,
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": results, "Prefix": "out"},
                },
                "End": True,
            }
        },
    }


def run(engine: Engine, definition: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    arn = engine.create_state_machine(name="m", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = engine.start_execution(stateMachineArn=arn, name="run", input="{}")
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = engine.describe_execution(
            executionArn=execution["executionArn"]
        )
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def put_items(moto: MotoServer, count: int, name: str) -> tuple[str, str]:
    client = s3(moto)
    for bucket in (f"{name}-in", f"{name}-out"):
        client.create_bucket(Bucket=bucket)
    body = "".join(json.dumps({"n": i}) + "\n" for i in range(count))
    client.put_object(Bucket=f"{name}-in", Key="items.jsonl", Body=body.encode())
    return f"{name}-in", f"{name}-out"


def read_json(moto: MotoServer, bucket: str, key: str) -> Any:
    return json.loads(s3(moto).get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.mark.integration
def test_items_read_from_s3_are_stored_children_and_results_go_back(
    engine: Engine, moto: MotoServer
) -> None:
    source, results = put_items(moto, 30, "durable")
    described = run(engine, machine(source, "items.jsonl", results))
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    (listed,) = engine.list_map_runs(executionArn=described["executionArn"])["mapRuns"]
    assert output["MapRunArn"] == listed["mapRunArn"]
    map_run = engine.describe_map_run(mapRunArn=listed["mapRunArn"])
    assert map_run["status"] == "SUCCEEDED"
    assert map_run["itemCounts"]["succeeded"] == map_run["executionCounts"]["succeeded"] == 30
    children = engine.list_executions(mapRunArn=listed["mapRunArn"], maxResults=1000)
    assert len(children["executions"]) == 30
    manifest = read_json(moto, results, output["ResultWriterDetails"]["Key"])
    (written,) = manifest["ResultFiles"]["SUCCEEDED"]
    entries = read_json(moto, results, written["Key"])
    assert sorted(json.loads(e["Output"])["n"] for e in entries) == list(range(30))
    stored = {c["executionArn"] for c in children["executions"]}
    assert {e["ExecutionArn"] for e in entries} == stored
    history = engine.get_execution_history(executionArn=described["executionArn"])["events"]
    assert [e["type"] for e in history] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]


@pytest.mark.integration
def test_a_missing_object_fails_the_execution_with_item_reader_failed(
    engine: Engine, moto: MotoServer
) -> None:
    source, results = put_items(moto, 1, "missing")
    described = run(engine, machine(source, "nothing-here.jsonl", results))
    assert (described["status"], described["error"]) == ("FAILED", "States.ItemReaderFailed")
    assert "The specified key does not exist." in described["cause"]


@pytest.mark.acceptance
def test_a_hundred_thousand_items_from_s3_and_back(tmp_path: Path) -> None:
    count = 100_000
    with running_moto() as moto:
        routing = {"routes": [{"resource": "arn:aws:states:::*", "endpoint_url": moto.url}]}
        engine = Engine.open(str(tmp_path / "big.db"), routing=routing)
        try:
            source, results = put_items(moto, count, "big")
            described = run(engine, machine(source, "items.jsonl", results), timeout=1500)
            assert described["status"] == "SUCCEEDED", described.get("cause")
            output = json.loads(described["output"])
            counts = engine.describe_map_run(mapRunArn=output["MapRunArn"])["executionCounts"]
            assert counts["succeeded"] == counts["total"] == count
            manifest = read_json(moto, results, output["ResultWriterDetails"]["Key"])
            (written,) = manifest["ResultFiles"]["SUCCEEDED"]
            entries = read_json(moto, results, written["Key"])
            assert len(entries) == count
            outputs = {json.loads(entry["Output"])["n"] for entry in entries}
            assert outputs == set(range(count))
        finally:
            engine.close()
