"""The CloudWatch Logs operations: shapes, pagination tokens, filters and errors.

Called as boto3 would call them (keyword arguments, AWS's member names), on a memory
store with a virtual clock; the HTTP layer is tested in tests/api/test_logs.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.errors import ServiceError
from stepfn.logs.checks import filter_terms
from stepfn.logs.service import CloudWatchLogs
from stepfn.store import MemoryStore

ACCOUNT_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:"


@pytest.fixture
def logs() -> CloudWatchLogs:
    return CloudWatchLogs(MemoryStore(), VirtualClock(1_700_000_000.0))


def error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ServiceError) as caught:
        call(**kwargs)
    return caught.value.code, caught.value.message


def put(logs: CloudWatchLogs, stream: str, *stamps: int, group: str = "g") -> None:
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": t, "message": f"{stream} at {t}"} for t in stamps],
    )


@pytest.fixture
def filled(logs: CloudWatchLogs) -> CloudWatchLogs:
    logs.create_log_group(logGroupName="g")
    for stream in ("a", "b"):
        logs.create_log_stream(logGroupName="g", logStreamName=stream)
    put(logs, "a", 10, 20, 30, 40, 50)
    put(logs, "b", 15, 25)
    return logs


# --- groups ------------------------------------------------------------------------------------


def test_log_groups_are_described_as_aws_describes_them(logs: CloudWatchLogs) -> None:
    assert logs.create_log_group(logGroupName="/aws/vendedlogs/states/x", tags={"team": "a"}) == {}
    logs.put_retention_policy(logGroupName="/aws/vendedlogs/states/x", retentionInDays=14)
    (group,) = logs.describe_log_groups()["logGroups"]
    assert group == {
        "logGroupName": "/aws/vendedlogs/states/x",
        "creationTime": 1_700_000_000_000,
        "retentionInDays": 14,
        "metricFilterCount": 0,
        "arn": ACCOUNT_ARN + "/aws/vendedlogs/states/x:*",
        "storedBytes": 0,
        "logGroupClass": "STANDARD",
        "logGroupArn": ACCOUNT_ARN + "/aws/vendedlogs/states/x",
    }
    assert logs.list_tags_for_resource(resourceArn=group["logGroupArn"]) == {"tags": {"team": "a"}}
    assert logs.list_tags_log_group(logGroupName="/aws/vendedlogs/states/x") == {
        "tags": {"team": "a"}
    }
    logs.delete_retention_policy(logGroupName="/aws/vendedlogs/states/x")
    assert "retentionInDays" not in logs.describe_log_groups()["logGroups"][0]


def test_creating_a_group_twice_or_deleting_a_missing_one_fails(logs: CloudWatchLogs) -> None:
    logs.create_log_group(logGroupName="g")
    assert error(logs.create_log_group, logGroupName="g") == (
        "ResourceAlreadyExistsException",
        "The specified log group already exists",
    )
    logs.delete_log_group(logGroupName="g")
    assert error(logs.delete_log_group, logGroupName="g") == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )


def test_deleting_a_group_takes_its_tags_and_events(filled: CloudWatchLogs) -> None:
    filled.tag_resource(resourceArn=ACCOUNT_ARN + "g", tags={"k": "v"})
    filled.delete_log_group(logGroupName="g")
    filled.create_log_group(logGroupName="g")
    assert filled.list_tags_log_group(logGroupName="g") == {"tags": {}}
    assert filled.filter_log_events(logGroupName="g")["events"] == []


def test_group_names_and_members_are_checked(logs: CloudWatchLogs) -> None:
    code, message = error(logs.create_log_group, logGroupName="bad name")
    assert code == "InvalidParameterException"
    assert message == (
        "1 validation error detected: Value 'bad name' at 'logGroupName' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+"
    )
    assert error(logs.describe_log_groups, limit=51)[0] == "InvalidParameterException"
    assert error(logs.put_retention_policy, logGroupName="g", retentionInDays=2)[0] == (
        "InvalidParameterException"
    )
    assert error(logs.describe_log_groups, logGroupNamePrefix="a", logGroupNamePattern="b") == (
        "InvalidParameterException",
        "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
    )


def test_groups_page_and_filter_by_prefix_or_pattern(logs: CloudWatchLogs) -> None:
    for name in ("/app/one", "/app/two", "/other/Three", "plain"):
        logs.create_log_group(logGroupName=name)
    first = logs.describe_log_groups(limit=3)
    assert [g["logGroupName"] for g in first["logGroups"]] == [
        "/app/one",
        "/app/two",
        "/other/Three",
    ]
    rest = logs.describe_log_groups(limit=3, nextToken=first["nextToken"])
    assert [g["logGroupName"] for g in rest["logGroups"]] == ["plain"]
    assert "nextToken" not in rest
    assert [
        g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"]
    ] == ["/app/one", "/app/two"]
    assert [
        g["logGroupName"]
        for g in logs.describe_log_groups(logGroupNamePattern="THREE")["logGroups"]
    ] == ["/other/Three"]
    assert error(logs.describe_log_groups, nextToken="not-ours") == (
        "InvalidParameterException",
        "The specified nextToken is invalid.",
    )


# --- streams -----------------------------------------------------------------------------------


def test_streams_are_described_with_their_event_times(filled: CloudWatchLogs) -> None:
    streams = filled.describe_log_streams(logGroupName="g")["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["a", "b"]
    a = streams[0]
    assert (a["firstEventTimestamp"], a["lastEventTimestamp"]) == (10, 50)
    assert a["creationTime"] == a["lastIngestionTime"] == 1_700_000_000_000
    assert a["arn"] == ACCOUNT_ARN + "g:log-stream:a"
    by_time = filled.describe_log_streams(
        logGroupIdentifier=ACCOUNT_ARN + "g", orderBy="LastEventTime", descending=True, limit=1
    )
    assert [s["logStreamName"] for s in by_time["logStreams"]] == ["a"]
    more = filled.describe_log_streams(
        logGroupName="g", orderBy="LastEventTime", descending=True, nextToken=by_time["nextToken"]
    )
    assert [s["logStreamName"] for s in more["logStreams"]] == ["b"]
    assert error(
        filled.describe_log_streams,
        logGroupName="g",
        orderBy="LastEventTime",
        logStreamNamePrefix="a",
    ) == ("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")
    assert error(filled.describe_log_streams, logGroupName="g", logGroupIdentifier="g") == (
        "InvalidParameterException",
        "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
    )


def test_streams_are_created_once_in_existing_groups(filled: CloudWatchLogs) -> None:
    assert error(filled.create_log_stream, logGroupName="g", logStreamName="a") == (
        "ResourceAlreadyExistsException",
        "The specified log stream already exists",
    )
    assert error(filled.create_log_stream, logGroupName="h", logStreamName="a")[0] == (
        "ResourceNotFoundException"
    )
    filled.delete_log_stream(logGroupName="g", logStreamName="a")
    assert error(filled.delete_log_stream, logGroupName="g", logStreamName="a") == (
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )
    assert [e["message"] for e in filled.filter_log_events(logGroupName="g")["events"]] == [
        "b at 15",
        "b at 25",
    ]


def test_put_log_events_needs_its_stream_and_time_order(filled: CloudWatchLogs) -> None:
    assert error(
        filled.put_log_events,
        logGroupName="g",
        logStreamName="missing",
        logEvents=[{"timestamp": 1, "message": "x"}],
    ) == ("ResourceNotFoundException", "The specified log stream does not exist.")
    assert (
        error(
            filled.put_log_events,
            logGroupName="g",
            logStreamName="a",
            logEvents=[{"timestamp": 2, "message": "x"}, {"timestamp": 1, "message": "y"}],
        )[0]
        == "InvalidParameterException"
    )
    assert error(filled.put_log_events, logGroupName="g", logStreamName="a", logEvents=[])[0] == (
        "InvalidParameterException"
    )


# --- GetLogEvents -------------------------------------------------------------------------------


def test_get_log_events_reads_the_newest_page_unless_from_head(filled: CloudWatchLogs) -> None:
    newest = filled.get_log_events(logGroupName="g", logStreamName="a", limit=2)
    assert [e["timestamp"] for e in newest["events"]] == [40, 50]
    assert newest["events"][0] == {
        "timestamp": 40,
        "message": "a at 40",
        "ingestionTime": 1_700_000_000_000,
    }
    oldest = filled.get_log_events(logGroupName="g", logStreamName="a", limit=2, startFromHead=True)
    assert [e["timestamp"] for e in oldest["events"]] == [10, 20]
    assert oldest["nextForwardToken"].startswith("f/")
    assert oldest["nextBackwardToken"].startswith("b/")


def test_get_log_events_tokens_walk_both_ways_and_stop_at_the_ends(
    filled: CloudWatchLogs,
) -> None:
    def page(token: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"logGroupName": "g", "logStreamName": "a", "limit": 2}
        if token is None:
            kwargs["startFromHead"] = True
        else:
            kwargs["nextToken"] = token
        return filled.get_log_events(**kwargs)

    seen: list[int] = []
    token: str | None = None
    while True:
        answer = page(token)
        seen += [e["timestamp"] for e in answer["events"]]
        if answer["nextForwardToken"] == token:
            break  # the same token back: the end, as the SDKs expect
        token = answer["nextForwardToken"]
    assert seen == [10, 20, 30, 40, 50]
    assert page(token)["events"] == []
    back = page(page(token)["nextBackwardToken"])
    assert [e["timestamp"] for e in back["events"]] == [40, 50]
    further = page(back["nextBackwardToken"])
    assert [e["timestamp"] for e in further["events"]] == [20, 30]
    # Events put after the end are found by the last forward token.
    put(filled, "a", 60)
    assert [e["timestamp"] for e in page(token)["events"]] == [60]


def test_get_log_events_bounds_and_errors(filled: CloudWatchLogs) -> None:
    window = filled.get_log_events(
        logGroupName="g", logStreamName="a", startTime=20, endTime=40, startFromHead=True
    )
    assert [e["timestamp"] for e in window["events"]] == [20, 30]  # endTime is exclusive
    empty = filled.get_log_events(logGroupName="g", logStreamName="a", startTime=1000)
    assert empty["events"] == []
    assert error(filled.get_log_events, logGroupName="g", logStreamName="zzz")[0] == (
        "ResourceNotFoundException"
    )
    assert error(filled.get_log_events, logGroupName="g", logStreamName="a", nextToken="f/1") == (
        "InvalidParameterException",
        "The specified nextToken is invalid.",
    )


# --- FilterLogEvents ----------------------------------------------------------------------------


def test_filter_log_events_interleaves_streams_and_pages(filled: CloudWatchLogs) -> None:
    first = filled.filter_log_events(logGroupName="g", limit=4)
    assert [(e["logStreamName"], e["timestamp"]) for e in first["events"]] == [
        ("a", 10),
        ("b", 15),
        ("a", 20),
        ("b", 25),
    ]
    assert set(first["events"][0]) == {
        "logStreamName",
        "timestamp",
        "message",
        "ingestionTime",
        "eventId",
    }
    rest = filled.filter_log_events(logGroupName="g", limit=4, nextToken=first["nextToken"])
    assert [e["timestamp"] for e in rest["events"]] == [30, 40, 50]
    assert "nextToken" not in rest


def test_filter_log_events_narrows_by_stream_time_and_pattern(filled: CloudWatchLogs) -> None:
    def stamps(**kwargs: Any) -> list[int]:
        found = filled.filter_log_events(logGroupName="g", **kwargs)["events"]
        return [e["timestamp"] for e in found]

    assert stamps(logStreamNames=["b"]) == [15, 25]
    assert stamps(logStreamNamePrefix="a") == [10, 20, 30, 40, 50]
    assert stamps(startTime=20, endTime=30) == [20, 25, 30]  # endTime is inclusive
    assert stamps(filterPattern="at 2") == [20, 25]
    assert stamps(filterPattern='"a at" 30') == [30]
    assert stamps(filterPattern="A") == []
    assert stamps(filterPattern="") == [10, 15, 20, 25, 30, 40, 50]
    assert (
        error(filled.filter_log_events, logGroupName="g", filterPattern='{ $.type = "X" }')[0]
        == "InvalidParameterException"
    )
    assert (
        error(
            filled.filter_log_events,
            logGroupName="g",
            logStreamNames=["a"],
            logStreamNamePrefix="a",
        )[0]
        == "InvalidParameterException"
    )
    assert error(filled.filter_log_events, logGroupName="missing")[0] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("pattern", "terms"),
    [
        (None, []),
        ("  ", []),
        ("ExecutionFailed", ["ExecutionFailed"]),
        ("ERROR  Exception", ["ERROR", "Exception"]),
        ('"Execution Failed" id', ["Execution Failed", "id"]),
        (r'"say \"hi\""', ['say "hi"']),
        # As in CloudWatch, a term with quotes in it is quoted, its quotes escaped.
        (r'"\"type\":\"TaskFailed\""', ['"type":"TaskFailed"']),
    ],
)
def test_filter_patterns_are_terms_and_quoted_phrases(
    pattern: str | None, terms: list[str]
) -> None:
    assert filter_terms(pattern) == terms


# --- the CLI's reader ---------------------------------------------------------------------------


def test_execution_events_read_a_whole_group_stream_or_execution(logs: CloudWatchLogs) -> None:
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    messages = [
        {
            "timestamp": i,
            "message": json.dumps(
                {"id": str(i), "execution_arn": f"arn:x:{i % 2}"}, separators=(",", ":")
            ),
        }
        for i in range(2500)
    ]
    for start in range(0, 2500, 1000):
        logs.put_log_events(
            logGroupName="g", logStreamName="s", logEvents=messages[start : start + 1000]
        )
    assert len(list(logs.execution_events("g"))) == 2500
    odd = list(logs.execution_events("g", "s", execution_arn="arn:x:1"))
    assert len(odd) == 1250 and all(e.timestamp % 2 == 1 for e in odd)
    with pytest.raises(ServiceError):
        list(logs.execution_events("g", "missing"))
