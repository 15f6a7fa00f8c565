"""``.waitForTaskToken`` through moto's SQS in ``stepfn.run``: the call is the submission
(TaskSubmitted) and the other party's SendTask* (``LocalTokens``) ends the task."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

import stepfn
from stepfn.durable.local_children import LocalTokens
from stepfn.errors import ServiceError

pytestmark = pytest.mark.integration


def definition(queue_url: str, **task: Any) -> dict[str, Any]:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {
            "QueueUrl": queue_url,
            "MessageBody": {"TaskToken.$": "$$.Task.Token", "Input.$": "$"},
        },
        "End": True,
        **task,
    }
    return {"StartAt": "Send", "States": {"Send": state}}


@pytest.fixture
def queue(moto: Any) -> tuple[Any, str]:
    sqs = boto3.client("sqs", endpoint_url=moto.url, region_name="us-east-1")
    name = f"callbacks-{threading.get_ident()}-{id(sqs)}"
    return sqs, sqs.create_queue(QueueName=name)["QueueUrl"]


@pytest.fixture
def routing(moto: Any) -> dict[str, Any]:
    return {"routes": [{"resource": "arn:aws:states:::sqs:*", "endpoint_url": moto.url}]}


@contextlib.contextmanager
def consumer(sqs: Any, url: str, answer: Any) -> Iterator[None]:
    """An SQS consumer thread that gives each message's body to ``answer``."""
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
            for message in got:
                answer(json.loads(message["Body"]))

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def test_the_consumer_answers_with_send_task_success(queue: Any, routing: Any) -> None:
    sqs, url = queue
    callbacks = LocalTokens()

    def answer(body: dict[str, Any]) -> None:
        callbacks.send_task_heartbeat(body["TaskToken"])
        callbacks.send_task_success(body["TaskToken"], json.dumps({"got": body["Input"]}))

    with consumer(sqs, url, answer):
        ex = stepfn.run(definition(url), {"n": 1}, routing=routing, callbacks=callbacks)
    assert ex.status == "SUCCEEDED" and ex.output == {"got": {"n": 1}}
    kinds = [e["type"] for e in ex.history]
    assert kinds[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    submitted = next(e for e in ex.history if e["type"] == "TaskSubmitted")
    assert "MessageId" in json.loads(submitted["taskSubmittedEventDetails"]["output"])


def test_send_task_failure_fails_the_task(queue: Any, routing: Any) -> None:
    sqs, url = queue
    callbacks = LocalTokens()

    def answer(body: dict[str, Any]) -> None:
        callbacks.send_task_failure(body["TaskToken"], "Failure error", "Failure cause")

    with consumer(sqs, url, answer):
        ex = stepfn.run(definition(url), routing=routing, callbacks=callbacks)
    assert (ex.status, ex.error, ex.cause) == ("FAILED", "Failure error", "Failure cause")


def test_an_unanswered_callback_times_out_in_simulated_time(queue: Any, routing: Any) -> None:
    _sqs, url = queue
    callbacks = LocalTokens(grace=0.2)
    ex = stepfn.run(definition(url, TimeoutSeconds=5), routing=routing, callbacks=callbacks)
    assert (ex.status, ex.error) == ("FAILED", "States.Timeout")
    assert ex.stop_time is not None and ex.stop_time - ex.start_time == pytest.approx(5.0)
    # The token of a task that ended answers as AWS answers a late one.
    token = json.loads(
        next(e for e in ex.history if e["type"] == "TaskScheduled")["taskScheduledEventDetails"][
            "parameters"
        ]
    )["MessageBody"]["TaskToken"]
    with pytest.raises(ServiceError, match="TaskTimedOut"):
        callbacks.send_task_success(token, "{}")
