"""The AWS-shaped front of the moto server: its layout (``aws_front``), its checks and
answers (``aws_rules``), and the front itself between boto3 and moto."""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

import pytest

from .aws_front import aws_front, aws_xml, request_id, shape
from .aws_rules import (
    MALFORMED_DETAIL,
    Answer,
    Call,
    SequenceNumbers,
    adjust,
    check,
    put_events,
)

SNS_NS = "http://sns.amazonaws.com/doc/2010-03-31/"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def signed(service: str) -> tuple[str, str]:
    return (
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential=testing/20261203/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0",
    )


def json_call(service: str, target: str, params: dict[str, Any], version: str = "1.0") -> Call:
    headers = (
        signed(service),
        ("X-Amz-Target", target),
        ("Content-Type", f"application/x-amz-json-{version}"),
    )
    return Call("POST", "/", headers, json.dumps(params).encode())


def query_call(service: str, params: dict[str, str]) -> Call:
    from urllib.parse import urlencode

    headers = (signed(service), ("Content-Type", "application/x-www-form-urlencoded"))
    return Call("POST", "/", headers, urlencode(params).encode())


def moto_answer(body: bytes, content_type: str) -> Answer:
    headers = [
        ("Server", "Werkzeug/3.1.9 Python/3.11.7, amazon.com"),
        ("Content-Type", content_type),
        ("x-amzn-requestid", "MOTO" * 13),
        ("Content-Length", str(len(body))),
        ("Access-Control-Allow-Origin", "*"),
        ("Connection", "close"),
    ]
    return Answer(200, headers, body)


# ------------------------------------------------------------------------------ requests


def test_call_reads_service_protocol_and_operation() -> None:
    call = json_call("dynamodb", "DynamoDB_20120810.PutItem", {"TableName": "t"})
    assert (call.service, call.protocol, call.operation) == ("dynamodb", "json", "PutItem")
    assert call.params == {"TableName": "t"}
    publish = query_call("sns", {"Action": "Publish", "TopicArn": "arn"})
    assert (publish.service, publish.protocol, publish.operation) == ("sns", "query", "Publish")
    put = Call("PUT", "/bucket/key", (signed("s3"),), b"data")
    assert (put.service, put.protocol, put.operation) == ("s3", "rest", "")


# ------------------------------------------------------------------------------ layout

MOTO_PUBLISH = (
    f'<PublishResponse xmlns="{SNS_NS}"><PublishResult><MessageId>m-1</MessageId>'
    "</PublishResult><ResponseMetadata><RequestId>MOTO</RequestId></ResponseMetadata>"
    "</PublishResponse>"
).encode()


def test_query_xml_is_laid_out_as_aws_writes_it() -> None:
    assert aws_xml(MOTO_PUBLISH, "rid").decode() == (
        f'<PublishResponse xmlns="{SNS_NS}">\n'
        "  <PublishResult>\n"
        "    <MessageId>m-1</MessageId>\n"
        "  </PublishResult>\n"
        "  <ResponseMetadata>\n"
        "    <RequestId>rid</RequestId>\n"
        "  </ResponseMetadata>\n"
        "</PublishResponse>\n"
    )


def test_query_xml_escapes_text_and_closes_empty_elements() -> None:
    body = b'<R xmlns="ns"><A>{"k": "a&lt;b"}</A><B></B></R>'
    assert aws_xml(body, "r").decode() == (
        '<R xmlns="ns">\n  <A>{&quot;k&quot;: &quot;a&lt;b&quot;}</A>\n  <B/>\n</R>\n'
    )


def test_sns_answer_has_snss_headers_in_order_and_the_bodys_length() -> None:
    call = query_call("sns", {"Action": "Publish", "TopicArn": "arn:t", "Message": "m"})
    shaped = shape(call, moto_answer(MOTO_PUBLISH, "text/xml"))
    names = [name for name, _ in shaped.headers]
    assert names == ["x-amzn-RequestId", "connection", "Content-Length", "Date", "Content-Type"]
    assert shaped.header("connection") == "keep-alive"
    assert shaped.header("Content-Length") == str(len(shaped.body))
    assert shaped.header("Content-Type") == "text/xml"
    rid = shaped.header("x-amzn-RequestId") or ""
    assert UUID.match(rid)
    assert f"<RequestId>{rid}</RequestId>" in shaped.body.decode()
    # The layout of a 36-character MessageId and RequestId is the recorded 294 bytes.
    uuid_publish = MOTO_PUBLISH.replace(b"m-1", b"0" * 36)
    assert len(shape(call, moto_answer(uuid_publish, "text/xml")).body) == 294


def test_json_answer_is_compact_and_dynamodb_sends_a_real_crc32() -> None:
    call = json_call("dynamodb", "DynamoDB_20120810.UpdateItem", {"TableName": "t"})
    body = b'{"Attributes": {"S": {"S": "HelloWorldUpdated"}}}'
    shaped = shape(call, moto_answer(body, "application/x-amz-json-1.0"))
    assert shaped.body == b'{"Attributes":{"S":{"S":"HelloWorldUpdated"}}}'
    assert shaped.header("x-amz-crc32") == str(zlib.crc32(shaped.body))
    assert shaped.header("Content-Length") == "46"
    names = [name for name, _ in shaped.headers]
    assert names == [
        "Server",
        "Connection",
        "x-amzn-RequestId",
        "x-amz-crc32",
        "Content-Length",
        "Date",
        "Content-Type",
    ]
    assert re.fullmatch(r"[A-Z0-9]{52}", shaped.header("x-amzn-RequestId") or "")


def test_dynamodb_get_item_spells_its_request_id_header_in_lower_case() -> None:
    call = json_call("dynamodb", "DynamoDB_20120810.GetItem", {"TableName": "t"})
    names = [name for name, _ in shape(call, moto_answer(b"{}", "x")).headers]
    assert "x-amzn-requestid" in names and "x-amzn-RequestId" not in names


def test_sqs_answer_keeps_the_query_error_code_header() -> None:
    call = json_call("sqs", "AmazonSQS.SendMessage", {"QueueUrl": "q"})
    answer = moto_answer(b'{"__type": "x"}', "application/x-amz-json-1.0")
    answer.headers.append(("x-amzn-query-error", "Code;Sender"))
    shaped = shape(call, answer)
    assert shaped.header("x-amzn-query-error") == "Code;Sender"
    assert shaped.header("Server") is None


def test_rest_answer_drops_motos_own_headers_and_keeps_the_others() -> None:
    call = Call("PUT", "/b/k", (signed("s3"),), b"x")
    answer = moto_answer(b"", "text/html")
    answer.headers.append(("ETag", '"e"'))
    shaped = shape(call, answer, rid="r")
    assert shaped.header("ETag") == '"e"'
    assert shaped.header("Server") == "AmazonS3"
    assert shaped.header("x-amz-request-id") == "r"
    assert shaped.header("Connection") == "keep-alive"
    assert shaped.header("Access-Control-Allow-Origin") is None
    assert shaped.header("Content-Length") == "0"


def test_request_ids_have_each_services_shape() -> None:
    assert UUID.match(request_id("sns"))
    assert re.fullmatch(r"[A-Z0-9]{52}", request_id("dynamodb"))
    assert request_id("sqs") != request_id("sqs")


# ------------------------------------------------------------------------------ checks


def test_dynamodb_null_item_is_a_validation_error() -> None:
    call = json_call("dynamodb", "DynamoDB_20120810.PutItem", {"TableName": "no_such"})
    answer = check(call)
    assert answer is not None and answer.status == 400
    assert json.loads(answer.body) == {
        "__type": "com.amazon.coral.validate#ValidationException",
        "message": "1 validation error detected: Value null at 'item' failed to satisfy "
        "constraint: Member must not be null",
    }
    both = check(json_call("dynamodb", "DynamoDB_20120810.PutItem", {}))
    assert both is not None
    message = json.loads(both.body)["message"]
    assert message.startswith("2 validation errors detected: ")
    assert "'tableName'" in message and "'item'" in message
    given = {"TableName": "t", "Item": {"id": {"S": "1"}}}
    assert check(json_call("dynamodb", "DynamoDB_20120810.PutItem", given)) is None


def test_sqs_missing_message_body_is_missing_parameter() -> None:
    call = json_call("sqs", "AmazonSQS.SendMessage", {"QueueUrl": "http://q"})
    answer = check(call)
    assert answer is not None and answer.status == 400
    assert answer.header("x-amzn-query-error") == "MissingParameter;Sender"
    assert json.loads(answer.body)["message"] == (
        "The request must contain the parameter MessageBody."
    )
    query = query_call("sqs", {"Action": "SendMessage", "QueueUrl": "http://q"})
    answer = check(query)
    assert answer is not None and b"<Code>MissingParameter</Code>" in answer.body
    sent = {"QueueUrl": "http://q", "MessageBody": "m"}
    assert check(json_call("sqs", "AmazonSQS.SendMessage", sent)) is None


def test_sns_fifo_publish_needs_a_message_group() -> None:
    fifo = {"Action": "Publish", "TopicArn": "arn:aws:sns:us-east-1:1:t.fifo", "Message": "m"}
    answer = check(query_call("sns", fifo))
    assert answer is not None and answer.status == 400
    laid_out = shape(query_call("sns", fifo), answer).body.decode()
    assert "<Code>InvalidParameter</Code>" in laid_out
    assert (
        "<Message>Invalid parameter: The MessageGroupId parameter is required for FIFO "
        "topics</Message>"
    ) in laid_out
    assert check(query_call("sns", {**fifo, "MessageGroupId": "g"})) is None
    standard = {**fifo, "TopicArn": "arn:aws:sns:us-east-1:1:t"}
    assert check(query_call("sns", standard)) is None


def test_put_events_fails_malformed_details_and_forwards_the_others() -> None:
    sent: list[Call] = []

    def forward(call: Call) -> Answer:
        sent.append(call)
        entries = [{"EventId": f"e{i}"} for i, _ in enumerate(call.params["Entries"])]
        return Answer(200, [], json.dumps({"FailedEntryCount": 0, "Entries": entries}).encode())

    entries = [
        {"Detail": '"jsonstring"', "Source": "s", "DetailType": "d"},
        {"Detail": '{"Message": "m"}', "Source": "s", "DetailType": "d"},
        {"Detail": "not json", "Source": "s", "DetailType": "d"},
    ]
    call = json_call("events", "AWSEvents.PutEvents", {"Entries": entries}, "1.1")
    answer = put_events(call, forward)
    assert answer is not None
    assert json.loads(answer.body) == {
        "FailedEntryCount": 2,
        "Entries": [MALFORMED_DETAIL, {"EventId": "e0"}, MALFORMED_DETAIL],
    }
    assert [e["Detail"] for e in sent[0].params["Entries"]] == ['{"Message": "m"}']
    sent.clear()
    only_bad = json_call("events", "AWSEvents.PutEvents", {"Entries": entries[:1]}, "1.1")
    answer = put_events(only_bad, forward)
    assert answer is not None and not sent
    assert json.loads(answer.body)["FailedEntryCount"] == 1
    good = json_call("events", "AWSEvents.PutEvents", {"Entries": entries[1:2]}, "1.1")
    assert put_events(good, forward) is None


# ------------------------------------------------------------------------------ answers


def test_dynamodb_consumed_capacity_only_when_asked() -> None:
    body = b'{"Attributes": {}, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}}'
    unasked = json_call("dynamodb", "DynamoDB_20120810.UpdateItem", {"TableName": "t"})
    assert json.loads(adjust(unasked, Answer(200, [], body), SequenceNumbers()).body) == {
        "Attributes": {}
    }
    asked = json_call(
        "dynamodb",
        "DynamoDB_20120810.UpdateItem",
        {"TableName": "t", "ReturnConsumedCapacity": "TOTAL"},
    )
    assert "ConsumedCapacity" in json.loads(
        adjust(asked, Answer(200, [], body), SequenceNumbers()).body
    )


def test_sns_fifo_publish_answers_a_sequence_number() -> None:
    call = query_call("sns", {"Action": "Publish", "TopicArn": "arn:t.fifo", "MessageGroupId": "g"})
    numbers = SequenceNumbers()
    moto = MOTO_PUBLISH.replace(b"m-1", b"0" * 36)
    first = adjust(call, Answer(200, [], moto), numbers)
    second = adjust(call, Answer(200, [], moto), numbers)
    found = [re.search(rb"<SequenceNumber>(\d+)</SequenceNumber>", a.body) for a in (first, second)]
    assert found[0] and found[1]
    one, two = (int(m.group(1)) for m in found if m)
    assert len(str(one)) == 20 and two > one
    # After the MessageId, in the result: the recorded FIFO answer is 352 bytes.
    laid_out = aws_xml(first.body, "0" * 36)
    assert b"</MessageId>\n    <SequenceNumber>" in laid_out and len(laid_out) == 352
    standard = query_call("sns", {"Action": "Publish", "TopicArn": "arn:t"})
    assert adjust(standard, Answer(200, [], MOTO_PUBLISH), numbers).body == MOTO_PUBLISH


def test_s3_put_object_reports_a_full_object_checksum() -> None:
    answer = Answer(200, [("x-amz-checksum-crc32", "KUmHvQ==")], b"")
    put = Call("PUT", "/bucket/key", (signed("s3"),), b'"text data"')
    assert adjust(put, answer, SequenceNumbers()).header("x-amz-checksum-type") == "FULL_OBJECT"
    part = Call("PUT", "/bucket/key?partNumber=1&uploadId=u", (signed("s3"),), b"x")
    assert adjust(part, answer, SequenceNumbers()).header("x-amz-checksum-type") is None
    plain = Answer(200, [], b"")
    assert adjust(put, plain, SequenceNumbers()).header("x-amz-checksum-type") is None


# ------------------------------------------------------------------------------ the front


@pytest.fixture(scope="module")
def front_url() -> str:
    pytest.importorskip("moto")
    from .services import server

    moto = server()
    moto.reset()
    return aws_front(moto.url).url


def raw_call(client: Any, operation: str, **params: Any) -> tuple[Any, Any]:
    """The parsed result and the HTTP response boto3 got."""
    seen: dict[str, Any] = {}

    def keep(http_response: Any, **kwargs: Any) -> None:
        seen["response"] = http_response

    client.meta.events.register(f"after-call.*.{operation}", keep)
    from botocore import xform_name

    result = getattr(client, xform_name(operation))(**params)
    return result, seen["response"]


def test_front_answers_boto3_as_sns_and_dynamodb_do(front_url: str) -> None:
    import boto3

    sns = boto3.client("sns", endpoint_url=front_url, region_name="us-east-1")
    topic = sns.create_topic(Name="front-topic")["TopicArn"]
    result, response = raw_call(sns, "Publish", TopicArn=topic, Message="m")
    headers = dict(response.headers.items())
    assert set(headers) == {
        "x-amzn-RequestId",
        "connection",
        "Content-Length",
        "Date",
        "Content-Type",
    }
    assert int(headers["Content-Length"]) == len(response.content) == 294
    assert result["ResponseMetadata"]["RequestId"] == headers["x-amzn-RequestId"]

    ddb = boto3.client("dynamodb", endpoint_url=front_url, region_name="us-east-1")
    ddb.create_table(
        TableName="front-table",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="front-table", Item={"id": {"S": "1"}, "data": {"S": "d"}})
    # botocore checks x-amz-crc32 against the body: a wrong one would raise here.
    result, response = raw_call(ddb, "GetItem", TableName="front-table", Key={"id": {"S": "1"}})
    assert result["Item"] == {"id": {"S": "1"}, "data": {"S": "d"}}
    assert response.headers["x-amz-crc32"] == str(zlib.crc32(response.content))
    assert b" " not in response.content


def test_front_gives_the_services_errors(front_url: str) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    loose = Config(parameter_validation=False)
    ddb = boto3.client("dynamodb", endpoint_url=front_url, region_name="us-east-1", config=loose)
    with pytest.raises(ClientError) as caught:
        ddb.put_item(TableName="no_such_table")
    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "ValidationException"
    assert "Value null at 'item'" in error["Message"]

    sqs = boto3.client("sqs", endpoint_url=front_url, region_name="us-east-1", config=loose)
    queue = sqs.create_queue(QueueName="front-queue")["QueueUrl"]
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=queue)
    assert caught.value.response["Error"]["Code"] == "MissingParameter"
