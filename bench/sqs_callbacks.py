"""SQS send-and-wait round trips per second: ``sqs:sendMessage.waitForTaskToken`` through a
stepfn server against moto, beside the same round trip made with boto3 alone.

    python bench/sqs_callbacks.py [--executions 2] [--rounds 50] [--consumers 2]

Both servers run as their own processes: moto (``python -m moto.server``) and
``stepfn server`` on a fresh SQLite file, its SQS calls sent to moto through
``AWS_ENDPOINT_URL_SQS`` (the SDKs' own convention, no routing file). Each of
``--executions`` executions loops ``--rounds`` times over one Task that sends a message
with its task token and waits; ``--consumers`` threads receive the messages and answer
each with SendTaskSuccess through the stepfn server. One round trip is the time from
one message of an execution reaching a consumer to the next one of the same execution
reaching one: SendTaskSuccess, the step it wakes, the commit and the next send.

The peer, in the same run, against a moto server of its own (started fresh, as the
stepfn run's is): ``--executions`` client threads each
send a message to a request queue, the consumers receive it and reply on a reply queue,
and the client receives the reply (send, receive, reply, receive: the round trip with
no Step Functions between). Figures are printed, never asserted. Past about six
pollers at once moto's server stops answering altogether (seen with 4 peer clients
and 2 consumers), so the default runs 2 executions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from moto_server import AWS_ENV, MotoServer, free_port  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/bench"
REGION = "us-east-1"
CONFIG = Config(
    retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=32, read_timeout=10
)
# Both sides poll without SQS long polling: moto serves a long poll by holding a thread
# and its queue, which stalls the other pollers of the same run.
IDLE = 0.01  # seconds between two empty polls
STALLS = [0]  # polls moto never answered (read timeouts), counted and shown
DUPLICATES = [0]  # messages moto delivered twice (to two consumers), counted and shown


def call(method: Any, **params: Any) -> Any:
    """One call to moto, made again when moto leaves it unanswered (counted as a stall:
    it happens to moto's server under load)."""
    from botocore.exceptions import ReadTimeoutError

    while True:
        try:
            return method(**params)
        except ReadTimeoutError:
            STALLS[0] += 1


def receive(queue: Any, url: str, most: int = 10) -> list[dict[str, Any]]:
    """The messages waiting on ``url`` (a short pause when there are none). A poll that
    moto leaves unanswered (it happens under load) counts as a stall and as empty."""
    from botocore.exceptions import ReadTimeoutError

    try:
        answer = queue.receive_message(QueueUrl=url, MaxNumberOfMessages=most)
    except ReadTimeoutError:
        STALLS[0] += 1
        return []
    got: list[dict[str, Any]] = answer.get("Messages", [])
    if not got:
        time.sleep(IDLE)
    return got


def loop_definition(queue_url: str) -> dict[str, Any]:
    """``rounds`` send-and-wait Tasks in a loop (the count in the input)."""
    return {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {
                        "TaskToken.$": "$$.Task.Token",
                        "Execution.$": "$$.Execution.Name",
                        "Left.$": "$.left",
                    },
                },
                "ResultSelector": {"left.$": "States.MathAdd($.Left, -1)"},
                "Next": "More",
            },
            "More": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.left", "NumericGreaterThan": 0, "Next": "Send"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }


class StepfnServer:
    """``stepfn server`` as a process, its SQS calls going to moto."""

    def __init__(self, moto_url: str, db: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL_SQS": moto_url}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stepfn", "server", "--db", str(db), "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("stepfn server exited at start")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("stepfn server did not answer")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def client(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name=REGION, config=CONFIG)


def summary(name: str, gaps: list[float], seconds: float) -> str:
    gaps = sorted(gaps)
    p50 = statistics.median(gaps) * 1000
    p99 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))] * 1000
    return (
        f"{name:<28} {len(gaps) / seconds:8.1f} round trips/s   "
        f"p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   ({len(gaps)} in {seconds:.2f} s)"
    )


def through_stepfn(
    moto_url: str, sfn_url: str, executions: int, rounds: int, consumers: int
) -> str:
    sqs = client("sqs", moto_url)
    queue_url = sqs.create_queue(QueueName="stepfn-callbacks")["QueueUrl"]
    sfn = client("stepfunctions", sfn_url)
    machine = sfn.create_state_machine(
        name="sqs-callbacks", definition=json.dumps(loop_definition(queue_url)), roleArn=ROLE
    )["stateMachineArn"]
    seen: dict[str, float] = {}
    delivered: set[str] = set()
    gaps: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()

    def consume() -> None:
        queue, answer = client("sqs", moto_url), client("stepfunctions", sfn_url)
        while not stop.is_set():
            for message in receive(queue, queue_url):
                now = time.perf_counter()
                body = json.loads(message["Body"])
                with lock:
                    # SQS delivers at least once: moto's server, polled by two consumers
                    # at once, sometimes hands one message to both. Its token is answered
                    # once; the second delivery is counted, not timed.
                    twice = message["MessageId"] in delivered
                    delivered.add(message["MessageId"])
                    if twice:
                        DUPLICATES[0] += 1
                    else:
                        last = seen.get(body["Execution"])
                        seen[body["Execution"]] = now
                        if last is not None:
                            gaps.append(now - last)
                call(
                    queue.delete_message, QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
                if twice:
                    continue
                answer.send_task_success(taskToken=body["TaskToken"], output=json.dumps(body))

    threads = [threading.Thread(target=consume, daemon=True) for _ in range(consumers)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    arns = [
        sfn.start_execution(
            stateMachineArn=machine, name=f"e{i}", input=json.dumps({"left": rounds})
        )["executionArn"]
        for i in range(executions)
    ]
    for arn in arns:
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            time.sleep(0.05)
    seconds = time.perf_counter() - began
    stop.set()
    for thread in threads:
        thread.join()
    failed = [a for a in arns if sfn.describe_execution(executionArn=a)["status"] != "SUCCEEDED"]
    if failed:
        raise RuntimeError(f"executions did not succeed: {failed}")
    return summary("stepfn (waitForTaskToken)", gaps, seconds)


def boto3_alone(moto_url: str, executions: int, rounds: int, consumers: int) -> str:
    sqs = client("sqs", moto_url)
    requests = sqs.create_queue(QueueName="peer-requests")["QueueUrl"]
    replies = [
        sqs.create_queue(QueueName=f"peer-replies-{i}")["QueueUrl"] for i in range(executions)
    ]
    stop = threading.Event()
    gaps: list[float] = []
    lock = threading.Lock()

    def consume() -> None:
        queue = client("sqs", moto_url)
        while not stop.is_set():
            for message in receive(queue, requests):
                body = json.loads(message["Body"])
                call(
                    queue.delete_message, QueueUrl=requests, ReceiptHandle=message["ReceiptHandle"]
                )
                call(
                    queue.send_message,
                    QueueUrl=replies[body["client"]],
                    MessageBody=message["Body"],
                )

    def caller(index: int) -> None:
        queue = client("sqs", moto_url)
        for _ in range(rounds):
            sent = time.perf_counter()
            call(queue.send_message, QueueUrl=requests, MessageBody=json.dumps({"client": index}))
            while True:
                got = receive(queue, replies[index], 1)
                if got:
                    message = got[0]
                    call(
                        queue.delete_message,
                        QueueUrl=replies[index],
                        ReceiptHandle=message["ReceiptHandle"],
                    )
                    break
            with lock:
                gaps.append(time.perf_counter() - sent)

    workers = [threading.Thread(target=consume, daemon=True) for _ in range(consumers)]
    for thread in workers:
        thread.start()
    began = time.perf_counter()
    callers = [threading.Thread(target=caller, args=(i,)) for i in range(executions)]
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join()
    seconds = time.perf_counter() - began
    stop.set()
    for thread in workers:
        thread.join()
    return summary("boto3 alone (send+reply)", gaps, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--consumers", type=int, default=2)
    args = parser.parse_args()
    os.environ.update(AWS_ENV)
    print(f"{args.executions} executions x {args.rounds} rounds, {args.consumers} consumers")
    # Each run has a moto server of its own, started fresh: one run's connections and
    # queues cannot slow the other's.
    peer_moto = MotoServer().start()
    try:
        print(boto3_alone(peer_moto.url, args.executions, args.rounds, args.consumers), flush=True)
    finally:
        peer_moto.stop()
    moto = MotoServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stepfn_server = StepfnServer(moto.url, Path(tmp) / "stepfn.db")
            try:
                ours = through_stepfn(
                    moto.url, stepfn_server.url, args.executions, args.rounds, args.consumers
                )
                print(ours, flush=True)
            finally:
                stepfn_server.stop()
    finally:
        moto.stop()
    print(f"moto calls left unanswered and made again (both runs): {STALLS[0]}")
    print(f"messages moto delivered twice (answered once): {DUPLICATES[0]}")


if __name__ == "__main__":
    main()
