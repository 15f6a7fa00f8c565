"""The context object and the ARNs in it."""

from __future__ import annotations

from stepfn.interp.context import context_object, execution_info


def test_context_object_shape() -> None:
    info = execution_info("run-1", {"a": 1}, 0.0, state_machine_name="orders")
    ctx = context_object(info, "Charge", 1.5, 2, "tok", (3, "x"))
    assert ctx["Execution"] == {
        "Id": "arn:aws:states:us-east-1:123456789012:execution:orders:run-1",
        "Input": {"a": 1},
        "StartTime": "1970-01-01T00:00:00.000Z",
        "Name": "run-1",
        "RoleArn": info.role_arn,
        "RedriveCount": 0,
    }
    assert ctx["StateMachine"]["Id"].endswith(":stateMachine:orders")
    assert ctx["State"] == {
        "EnteredTime": "1970-01-01T00:00:01.500Z",
        "Name": "Charge",
        "RetryCount": 2,
    }
    assert ctx["Task"] == {"Token": "tok"}
    assert ctx["Map"] == {"Item": {"Index": 3, "Value": "x"}}


def test_retry_count_and_optional_parts_are_absent_when_not_given() -> None:
    info = execution_info("run-1", {}, 0.0, state_machine_type="EXPRESS")
    ctx = context_object(info, "P", 0.0)
    assert ":express:" in ctx["Execution"]["Id"]
    assert ctx["State"] == {"EnteredTime": "1970-01-01T00:00:00.000Z", "Name": "P"}
    assert "Task" not in ctx and "Map" not in ctx
