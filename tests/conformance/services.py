"""AWS stand-ins for the conformance cases that call services: one moto server.

A case that needs SQS, SNS, DynamoDB, S3, EventBridge or Secrets Manager runs with every
``arn:aws:states:::*`` call routed to a moto server this module starts (once, on a free
port, stopped at exit). Before each such case the server is reset and what the case's
recording says existed is made there: its ``bindings`` (``${ext1}`` is a queue URL, a
topic ARN or a bucket name, substituted into the definition and input), the DynamoDB
table its input names, and its ``s3_objects``.
"""

from __future__ import annotations

import atexit
import json
import re
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for moto_server

from moto_server import AWS_ENV, MotoServer

from .api_standin import api_standin

SERVICE_NEEDS = frozenset(
    {"sqs", "sns", "dynamodb", "s3", "eventbridge", "secretsmanager", "apigateway"}
)
BINDINGS = {
    "fixture sqs_create_queue()": "queue",
    "fixture sns_create_topic()[...]": "topic",
    "fixture s3_create_bucket()": "bucket",
    # The API Gateway cases' host, <api id>.execute-api.<region>.amazonaws.com: any id
    # will do, since the stand-in API (api_standin.py) answers for it.
    "unpacked": "api_id",
    "localstack.utils.aws.aws_stack.get_boto3_region()": "region",
}
API_ID = "stepfnapi01"

_server: MotoServer | None = None
_lock = threading.Lock()


def unsupported(data: dict[str, Any]) -> str | None:
    """Why the service setup here cannot serve a case, or None."""
    for name, how in (data.get("bindings") or {}).items():
        if how not in BINDINGS:
            return f"no stand-in for the binding {name} ({how})"
    return None


def server() -> MotoServer:
    """The moto server, started on first use."""
    global _server
    with _lock:
        if _server is None:
            import os

            os.environ.update(AWS_ENV)
            _server = MotoServer().start()
            atexit.register(_server.stop)
        return _server


def prepare(data: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """The case's definition and input with its bindings made, and the routing."""
    import boto3

    moto = server()
    moto.reset()

    def client(name: str) -> Any:
        return boto3.client(name, endpoint_url=moto.url, region_name="us-east-1")

    values: dict[str, str] = {}
    fifo = "fifo" in data.get("name", "")
    for index, (name, how) in enumerate(sorted((data.get("bindings") or {}).items())):
        kind = BINDINGS[how]
        if kind == "api_id":
            values[name] = API_ID
        elif kind == "region":
            values[name] = "us-east-1"
        elif kind == "queue":
            values[name] = client("sqs").create_queue(QueueName=f"q{index}")["QueueUrl"]
        elif kind == "topic":
            topic = f"t{index}.fifo" if fifo else f"t{index}"
            attributes = {"FifoTopic": "true"} if fifo else {}
            values[name] = client("sns").create_topic(Name=topic, Attributes=attributes)["TopicArn"]
        else:
            values[name] = f"bucket-{index}"
            client("s3").create_bucket(Bucket=values[name])
    definition = _substitute(data["definition"], values)
    given = _substitute(data.get("input"), values)
    table = given.get("TableName") if isinstance(given, dict) else None
    if isinstance(table, str) and not table.startswith("no_such"):
        client("dynamodb").create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    for bucket in _literal_buckets(definition) - set(values.values()):
        client("s3").create_bucket(Bucket=bucket)
    for item in data.get("s3_objects") or []:
        item = _substitute(item, values)
        client("s3").put_object(Bucket=item["Bucket"], Key=item["Key"], Body=item["Body"])
    routing = {
        "routes": [
            {"resource": "arn:aws:states:::apigateway:*", "endpoint_url": api_standin().url},
            {"resource": "arn:aws:states:::*", "endpoint_url": moto.url},
        ]
    }
    return definition, given, routing


def _literal_buckets(definition: Any) -> set[str]:
    """The buckets a definition names outright (a ResultWriter's, say): they existed
    when the case was recorded."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            bucket = value.get("Bucket")
            if isinstance(bucket, str) and re.fullmatch(r"[a-z0-9][a-z0-9.-]{2,62}", bucket):
                found.add(bucket)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(definition)
    return found


def _substitute(value: Any, values: dict[str, str]) -> Any:
    text = json.dumps(value)
    for name, bound in values.items():
        text = text.replace(name, bound)
    return json.loads(text)
