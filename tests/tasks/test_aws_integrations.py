"""Each AWS integration through ``stepfn.run`` against a moto server."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

import stepfn
from moto_server import MotoServer

pytestmark = pytest.mark.integration


def task(resource: str, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    state = {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}
    return {"StartAt": "T", "States": {"T": {**state, **extra}}}


def routing(moto: MotoServer) -> dict[str, Any]:
    return {"routes": [{"resource": "arn:aws:states:::*", "endpoint_url": moto.url}]}


def client(moto: MotoServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=moto.url, region_name="us-east-1")


def test_sqs_send_message_sends_json_body_and_reports_http_metadata(moto: MotoServer) -> None:
    sqs = client(moto, "sqs")
    url = sqs.create_queue(QueueName="sends")["QueueUrl"]
    definition = task(
        "arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": {"a": [1, 2]}}
    )
    ex = stepfn.run(definition, {}, routing=routing(moto))
    assert ex.status == "SUCCEEDED", ex.cause
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert message["Body"] == '{"a":[1,2]}'
    assert ex.output["MessageId"] == message["MessageId"]
    metadata = ex.output["SdkHttpMetadata"]
    assert metadata["HttpStatusCode"] == 200
    assert metadata["AllHttpHeaders"]["Content-Type"] == ["application/x-amz-json-1.0"]
    assert ex.output["SdkResponseMetadata"]["RequestId"]


def test_sqs_to_a_missing_queue_is_an_sqs_error(moto: MotoServer) -> None:
    url = f"{moto.url}/123456789012/missing"
    ex = stepfn.run(
        task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": url, "MessageBody": "x"}),
        routing=routing(moto),
    )
    assert ex.status == "FAILED"
    assert ex.error == "SQS.QueueDoesNotExistException"
    assert ex.cause.endswith("; Proxy: null)") and "(Service: AmazonSQS; Status Code: 400" in (
        ex.cause
    )


def test_sns_publish(moto: MotoServer) -> None:
    arn = client(moto, "sns").create_topic(Name="news")["TopicArn"]
    ex = stepfn.run(
        task("arn:aws:states:::sns:publish", {"TopicArn": arn, "Message": {"m": 1}}),
        routing=routing(moto),
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert set(ex.output) == {"MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}


def test_dynamodb_optimized_and_sdk_put_get_and_their_error_names(moto: MotoServer) -> None:
    client(moto, "dynamodb").create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"id": {"S": "1"}, "data": {"S": "hello"}}
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": "items", "Item": item},
                "ResultPath": None,
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                "Parameters": {"TableName": "items", "Key": {"id": {"S": "1"}}},
                "End": True,
            },
        },
    }
    ex = stepfn.run(definition, {}, routing=routing(moto))
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == {"Item": item}
    missing = {"TableName": "nope", "Item": item}
    optimized = stepfn.run(
        task("arn:aws:states:::dynamodb:putItem", missing), routing=routing(moto)
    )
    sdk = stepfn.run(
        task("arn:aws:states:::aws-sdk:dynamodb:putItem", missing), routing=routing(moto)
    )
    assert optimized.error == "DynamoDB.ResourceNotFoundException"
    assert (
        "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ResourceNotFoundException;"
        in (optimized.cause)
    )
    assert sdk.error == "DynamoDb.ResourceNotFoundException"
    assert "(Service: DynamoDb, Status Code: 400, Request ID: " in sdk.cause


def test_s3_sdk_put_and_get_object(moto: MotoServer) -> None:
    client(moto, "s3").create_bucket(Bucket="files")
    put = stepfn.run(
        task("arn:aws:states:::aws-sdk:s3:putObject", {"Bucket": "files", "Key": "k", "Body": [1]}),
        routing=routing(moto),
    )
    assert put.status == "SUCCEEDED", put.cause
    assert put.output["ETag"] == '"' + __import__("hashlib").md5(b"[1]").hexdigest() + '"'
    got = stepfn.run(
        task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "files", "Key": "k"}),
        routing=routing(moto),
    )
    assert got.output["Body"] == "[1]"
    assert got.output["ContentLength"] == 3
    text = stepfn.run(
        task(
            "arn:aws:states:::aws-sdk:s3:putObject", {"Bucket": "files", "Key": "t", "Body": "hi"}
        ),
        routing=routing(moto),
    )
    assert text.status == "SUCCEEDED", text.cause
    stored = client(moto, "s3").get_object(Bucket="files", Key="t")["Body"].read()
    assert stored == b'"hi"'  # a string body is stored as its JSON text, as on AWS
    assert got.output["LastModified"].endswith("Z")
    missing = stepfn.run(
        task("arn:aws:states:::aws-sdk:s3:listObjects", {"Bucket": "nope"}), routing=routing(moto)
    )
    assert missing.error == "S3.NoSuchBucketException"


def test_s3_put_sends_a_crc32_and_get_asks_for_no_checksum(moto: MotoServer) -> None:
    # As AWS's recordings show: putObject's result has ChecksumCRC32 (the SDK sent one),
    # getObject's has none (Step Functions does not set ChecksumMode).
    client(moto, "s3").create_bucket(Bucket="sums")
    put = stepfn.run(
        task("arn:aws:states:::aws-sdk:s3:putObject", {"Bucket": "sums", "Key": "k", "Body": "x"}),
        routing=routing(moto),
    )
    assert put.status == "SUCCEEDED", put.cause
    assert put.output["ChecksumCRC32"]
    got = stepfn.run(
        task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "sums", "Key": "k"}),
        routing=routing(moto),
    )
    assert got.status == "SUCCEEDED", got.cause
    assert got.output["Body"] == '"x"'
    assert not [key for key in got.output if key.startswith("Checksum")]
    # The same object read with ChecksumMode has one: the adapter's choice is what hides it.
    enabled = client(moto, "s3").get_object(Bucket="sums", Key="k", ChecksumMode="ENABLED")
    assert enabled.get("ChecksumCRC32") == put.output["ChecksumCRC32"]


def test_events_put_events_and_a_failed_entry(moto: MotoServer) -> None:
    entries = [{"Source": "a.b", "DetailType": "t", "Detail": {"k": 1}}]
    ok = stepfn.run(
        task("arn:aws:states:::events:putEvents", {"Entries": entries}), routing=routing(moto)
    )
    assert ok.status == "SUCCEEDED", ok.cause
    assert ok.output["FailedEntryCount"] == 0 and len(ok.output["Entries"]) == 1
    assert "SdkHttpMetadata" not in ok.output
    bad = [{"DetailType": "t", "Detail": "{}"}]  # no Source
    failed = stepfn.run(
        task("arn:aws:states:::events:putEvents", {"Entries": bad}), routing=routing(moto)
    )
    assert failed.error == "EventBridge.FailedEntry"
    assert json.loads(failed.cause)["FailedEntryCount"] == 1


def test_secretsmanager_through_the_sdk_integration(moto: MotoServer) -> None:
    client(moto, "secretsmanager").create_secret(Name="pw", SecretString="s3cret")
    ex = stepfn.run(
        task("arn:aws:states:::aws-sdk:secretsmanager:getSecretValue", {"SecretId": "pw"}),
        routing=routing(moto),
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output["SecretString"] == "s3cret"
    assert ex.output["CreatedDate"].endswith("Z")


def test_env_convention_routes_without_configuration(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.url)
    ex = stepfn.run(task("arn:aws:states:::aws-sdk:secretsmanager:listSecrets", {}))
    assert ex.status == "SUCCEEDED", ex.cause
    assert "SecretList" in ex.output


def test_an_unrouted_resource_fails_saying_how_to_route_it() -> None:
    ex = stepfn.run(task("arn:aws:states:::aws-sdk:s3:listBuckets", {}))
    assert ex.error == "States.TaskFailed"
    assert "No route runs the resource 'arn:aws:states:::aws-sdk:s3:listBuckets'" in ex.cause
    assert "docs/integrations.md#routing" in ex.cause


def test_an_unknown_sdk_action_is_named(moto: MotoServer) -> None:
    ex = stepfn.run(task("arn:aws:states:::aws-sdk:s3:fly", {}), routing=routing(moto))
    assert ex.error == "States.Runtime"
    assert "the service has no action 'fly'" in ex.cause
