"""Reading a ``TF_LOG=DEBUG`` log: requests, answers with their bodies, retries, errors and
the pauses between the provider's records."""

from __future__ import annotations

import json

from .tf_log import parse

P = "[DEBUG] provider.terraform-provider-aws_v5.100.0_x5:"
SENT, GOT = f"{P} HTTP Request Sent:", f"{P} HTTP Response Received:"
LAMBDA = "tf_resource_type=aws_lambda_function"


def attempt(n: int) -> str:
    return f'http.request.header.amz_sdk_request="attempt={n}; max=25"'


LOG = "\n".join(
    [
        "2026-12-02T06:24:45.000Z [INFO]  Terraform version: 1.11.4",
        f"2026-12-02T06:24:50.000Z {SENT} rpc.method=CreateFunction {LAMBDA} {attempt(1)}",
        "  http.request.body=",
        '  | {"FunctionName": "f"}',
        "   http.method=POST",
        f"2026-12-02T06:24:50.020Z {GOT} rpc.method=CreateFunction http.duration=15 tf_req_id=f",
        "  http.response.body=",
        '  | {"FunctionName": "f", "State": "Active"}',
        f"   http.status_code=201 {LAMBDA}",
        f"2026-12-02T06:24:50.021Z {P} [DEBUG] Waiting for state to become: [Active]",
        "2026-12-02T06:24:52.000Z [DEBUG] State storage *statemgr.Filesystem declined to persist",
        f"2026-12-02T06:24:55.021Z {SENT} rpc.method=GetFunction tf_req_id=f {attempt(2)}",
        f"2026-12-02T06:24:55.030Z {GOT} rpc.method=GetFunction http.status_code=404",
        "   http.duration=3",
        "2026-12-02T06:24:56.000Z [DEBUG] provider: plugin exited",
    ]
)


def test_requests_answers_and_their_fields() -> None:
    timeline = parse(LOG)
    assert [r.label() for r in timeline.requests] == [
        "CreateFunction sent (aws_lambda_function)",
        "GetFunction sent ()",
    ]
    created = timeline.responses[0]
    # Fields on the continuation line after the body belong to the record.
    assert created.fields["http.status_code"] == "201"
    assert json.loads(created.body) == {"FunctionName": "f", "State": "Active"}
    assert timeline.records[0].at == 0.0
    assert timeline.api_phase() == (5.0, 10.03)
    assert timeline.server_ms() == 18


def test_retries_and_error_answers_are_found() -> None:
    timeline = parse(LOG)
    assert [r.fields["rpc.method"] for r in timeline.retried()] == ["GetFunction"]
    assert [r.label() for r in timeline.errors()] == ["GetFunction answered 404 ()"]


def test_a_pause_is_named_by_the_providers_record_before_it() -> None:
    # Terraform's own record in the middle (saving state) neither splits the pause nor
    # hides the waiter that caused it.
    [pause] = parse(LOG).pauses(at_least=1.0)
    assert round(pause.seconds, 3) == 5.0
    assert pause.after.kind == "waiter"
    assert pause.after.label() == "waiter 'Waiting for state to become: [Active]'"
    assert pause.before.fields["rpc.method"] == "GetFunction"
    assert pause.waiter is pause.after
    assert parse(LOG).pauses(at_least=6.0) == []


def test_an_empty_log_has_no_api_phase() -> None:
    timeline = parse("")
    assert timeline.requests == [] and timeline.api_phase() == (0.0, 0.0)
    assert timeline.pauses(at_least=1.0) == []


def test_a_pause_over_a_provider_restart_says_so() -> None:
    # A destroy plans with one provider process and applies with another: the gap between
    # them is Terraform's, not a wait of the provider's.
    log = "\n".join(
        [
            f"2026-12-02T06:24:50.000Z {SENT} rpc.method=DescribeStateMachine",
            f"2026-12-02T06:24:50.010Z {GOT} rpc.method=DescribeStateMachine",
            "2026-12-02T06:24:51.000Z [DEBUG] provider: plugin started: pid=2",
            f"2026-12-02T06:24:55.000Z {SENT} rpc.method=DeleteStateMachine",
            f"2026-12-02T06:24:55.010Z {GOT} rpc.method=DeleteStateMachine",
        ]
    )
    [pause] = parse(log).pauses(at_least=1.0)
    assert pause.restarted and pause.cause() == "Terraform starting the provider again"
    [waited] = parse(LOG).pauses(at_least=1.0)
    assert not waited.restarted


def test_the_waiter_of_a_pause_is_its_own_resources() -> None:
    # Function f waits; meanwhile an attachment's read is answered and its own waiter
    # logs: the 5 s pause is still f's waiter, found through f's tf_req_id.
    log = "\n".join(
        [
            f"2026-12-02T06:24:50.000Z {GOT} rpc.method=GetFunction tf_req_id=f",
            f"2026-12-02T06:24:50.001Z {P} [DEBUG] Waiting for state to become: [Active]",
            f"2026-12-02T06:24:50.002Z {SENT} rpc.method=ListAttachedRolePolicies tf_req_id=a",
            f"2026-12-02T06:24:50.003Z {P} [DEBUG] Waiting for state to become: [success]",
            f"2026-12-02T06:24:50.004Z {GOT} rpc.method=ListAttachedRolePolicies tf_req_id=a",
            f"2026-12-02T06:24:55.001Z {SENT} rpc.method=GetFunction tf_req_id=f {LAMBDA}",
            f"2026-12-02T06:24:55.002Z {GOT} rpc.method=GetFunction tf_req_id=f",
        ]
    )
    [pause] = parse(log).pauses(at_least=1.0)
    assert pause.after.fields["rpc.method"] == "ListAttachedRolePolicies"
    assert pause.waiter is not None and pause.waiter.at == 0.001
    assert pause.cause() == ("waiter 'Waiting for state to become: [Active]' (aws_lambda_function)")
