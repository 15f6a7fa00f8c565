"""AWS stand-ins for the conformance cases that call services: one moto server.

A case that needs SQS, SNS, DynamoDB, S3, EventBridge or Secrets Manager runs with every
``arn:aws:states:::*`` call routed to a moto server this module starts (once, on a free
port, stopped at exit), through a front that answers as AWS's services do
(``aws_front.py``: their headers, body layout and the checks moto makes otherwise).
Before each such case the server is reset and what the case's recording says existed is
made there: its ``bindings`` (``${ext1}`` is a queue URL, a
topic ARN or a bucket name, substituted into the definition and input), the DynamoDB
table its input names, and its ``s3_objects``.
"""

from __future__ import annotations

import atexit
import datetime
import json
import re
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for moto_server

from moto_server import AWS_ENV, MotoServer

from .api_standin import api_standin
from .aws_front import aws_front

SERVICE_NEEDS = frozenset(
    {"sqs", "sns", "dynamodb", "s3", "eventbridge", "secretsmanager", "apigateway"}
)
BINDINGS = {
    "fixture sqs_create_queue()": "queue",
    "fixture sns_create_topic()[...]": "topic",
    "fixture s3_create_bucket()": "bucket",
    "fixture create_activity()[...]": "activity",
    "fixture create_cross_account_admin_role_and_policy()": "role",
    "module datetime.datetime.now().strftime()": "now",
    # The API Gateway cases' host, <api id>.execute-api.<region>.amazonaws.com: any id
    # will do, since the stand-in API (api_standin.py) answers for it.
    "unpacked": "api_id",
    "localstack.utils.aws.aws_stack.get_boto3_region()": "region",
}
# The format LocalStack's test gives strftime for ``now`` bindings (test_wait.py).
NOW_FORMAT = "%Y-%m-%dT%H:%M:%S"
# Cases this runner cannot serve although it has their bindings: case id -> why.
NOT_SERVED = {
    "activities/activity_task_on_deleted": (
        "needs an activity deleted before the run: stepfn.run has no activity registry"
    ),
}
API_ID = "stepfnapi01"

_server: MotoServer | None = None
_lock = threading.Lock()


def unsupported(data: dict[str, Any]) -> str | None:
    """Why the service setup here cannot serve a case, or None."""
    why = NOT_SERVED.get(f"{data.get('category')}/{data.get('name')}")
    if why is not None:
        return why
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


def prepare(data: dict[str, Any]) -> tuple[Any, Any, dict[str, Any], dict[str, str]]:
    """The case's definition and input with its bindings made, the routing, and the
    bound values (binding -> queue URL, topic or role ARN, ...)."""
    import boto3

    moto = server()
    moto.reset()

    def client(name: str) -> Any:
        return boto3.client(name, endpoint_url=moto.url, region_name="us-east-1")

    values: dict[str, str] = {}
    fifo = "fifo" in data.get("name", "")
    for index, (name, how) in enumerate(sorted((data.get("bindings") or {}).items())):
        kind = BINDINGS[how]
        if kind == "activity":
            values[name] = f"arn:aws:states:us-east-1:123456789012:activity:activity-{index}"
        elif kind == "now":
            values[name] = datetime.datetime.now().strftime(NOW_FORMAT)
        elif kind == "role":
            values[name] = cross_account_role(client("iam"), index)
        elif kind == "api_id":
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
            make_bucket(client("s3"), values[name])
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
        make_bucket(client("s3"), bucket)
    for item in data.get("s3_objects") or []:
        item = _substitute(item, values)
        client("s3").put_object(Bucket=item["Bucket"], Key=item["Key"], Body=item["Body"])
    routing = {
        "routes": [
            {"resource": "arn:aws:states:::apigateway:*", "endpoint_url": api_standin().url},
            {"resource": "arn:aws:states:::*", "endpoint_url": aws_front(moto.url).url},
        ]
    }
    return definition, given, routing, values


# How the runner answers a case's callbacks (the recordings' test code did this): case
# id -> "success" (the message body as output), "message" (its Message as output),
# "failure" (SendTaskFailure), "none" (never answers: the task times out).
CALLBACKS = {
    "callback/sqs_wait_for_task_token_call_chain": "message",
    "callback/sqs_wait_for_task_token_no_token_parameter": "none",
    "error_handling/sqs_failure_in_wait_for_task_tok": "failure",
    "timeouts/heartbeat_path_timeout": "none",
}
FAILURE = {"error": "Failure error", "cause": "Failure cause"}


class Party:
    """The other side of a case's callbacks and activities: an SQS consumer that
    answers task tokens, and an activity worker, each a thread until ``stop()``."""

    def __init__(self, data: dict[str, Any], values: dict[str, str], callbacks: Any) -> None:
        self.case_id = f"{data.get('category')}/{data.get('name')}"
        self.callbacks = callbacks
        self.queues = [v for v in values.values() if v.startswith("http")]
        self.activities = [v for v in values.values() if ":activity:" in v]
        self.how = CALLBACKS.get(self.case_id, "success")
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Party:
        for url in self.queues:
            self._threads.append(threading.Thread(target=self._consume, args=(url,), daemon=True))
        for arn in self.activities:
            self._threads.append(threading.Thread(target=self._work, args=(arn,), daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _consume(self, url: str) -> None:
        import boto3

        sqs = boto3.client("sqs", endpoint_url=server().url, region_name="us-east-1")
        while not self._stopped.is_set():
            got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10)
            for message in got.get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                try:
                    body = json.loads(message["Body"])
                except ValueError:
                    continue  # not a callback's message: nothing to answer
                self._answer(body)

    def _answer(self, body: Any) -> None:
        token = body.get("TaskToken") if isinstance(body, dict) else None
        if not token or self.how == "none":
            return
        if self.how == "failure":
            self.callbacks.send_task_failure(token, **FAILURE)
            return
        self.callbacks.send_task_heartbeat(token)
        output = body.get("Message") if self.how == "message" else body
        self.callbacks.send_task_success(token, json.dumps(output))

    def _work(self, arn: str) -> None:
        while not self._stopped.is_set():
            task = self.callbacks.get_activity_task(arn, "conformance-worker", timeout=0.5)
            if not task:
                continue
            self.callbacks.send_task_heartbeat(task["taskToken"])
            self.callbacks.send_task_success(task["taskToken"], task["input"])


def make_bucket(s3: Any, name: str) -> None:
    """A bucket as AWS makes one: since January 2023 every new bucket encrypts its
    objects with SSE-S3 by default (the recordings' results say ``ServerSideEncryption:
    AES256``), which moto does only when the bucket's default encryption is set."""
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def cross_account_role(iam: Any, index: int) -> str:
    """A role the Task's ``Credentials`` name: made in moto's IAM, with a policy that
    allows everything (as the recording's fixture makes it)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    name = f"cross-account-admin-{index}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    admin = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName=name, PolicyName="admin", PolicyDocument=json.dumps(admin))
    return str(role["Role"]["Arn"])


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
