"""The seed's two-function machine run over HTTP on the seed's example order and on the
orders it refuses, however it was deployed (``stepfn deploy`` or the real ``terraform``)."""

from __future__ import annotations

import json
import time
from typing import Any

from stepfn.testing.history import states_entered

from .helpers import EXAMPLE_ORDER

# (what is changed in the example order, the refusal's words); None: it is confirmed.
SEED_ORDERS: list[tuple[str, dict[str, Any], str | None]] = [
    ("example", {}, None),
    ("unknown-item", {"items": [{"item_id": "item9", "quantity": 1}]}, "is not an item we sell"),
    (
        "bad-quantity",
        {"items": [{"item_id": "item1", "quantity": 0}]},
        "items[0].quantity must be a positive whole number",
    ),
    ("mismatched-amount", {"amount": 99.5}, "amount 99.5 does not match the items' total 100.5"),
]


def wait_done(sfn: Any, arn: str, timeout: float = 120.0) -> dict[str, Any]:
    """DescribeExecution once the execution has ended."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if found["status"] != "RUNNING":
            return found
        assert time.monotonic() < deadline, f"{arn} still RUNNING"
        time.sleep(0.05)


def check_seed_orders(sfn: Any, machine_arn: str) -> None:
    """Each of ``SEED_ORDERS`` ends as the seed's functions decide: the example order
    confirmed by InvokeLambda2, the others refused by InvokeLambda1."""
    example = json.loads(EXAMPLE_ORDER.read_text())
    for name, changes, refusal in SEED_ORDERS:
        text = EXAMPLE_ORDER.read_text() if not changes else json.dumps({**example, **changes})
        started = sfn.start_execution(stateMachineArn=machine_arn, name=name, input=text)
        done = wait_done(sfn, started["executionArn"])
        entered = states_entered(sfn.get_execution_history(executionArn=done["executionArn"]))
        if refusal is None:
            assert done["status"] == "SUCCEEDED", done
            output = json.loads(done["output"])
            assert (output["order_id"], output["status"], output["amount"]) == (
                "12345",
                "CONFIRMED",
                100.5,
            )
            assert entered == ["InvokeLambda1", "InvokeLambda2"]
        else:
            assert (done["status"], done.get("error")) == ("FAILED", "OrderValidationError"), name
            assert refusal in json.loads(done["cause"])["errorMessage"], (name, done["cause"])
            assert entered == ["InvokeLambda1"], name
