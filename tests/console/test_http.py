"""Every console page and its JSON twin over real HTTP (uvicorn), the escaping of what
the definitions and inputs hold, and the refusal of changes without the CSRF token."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest

from .machines import EVIL, FAN_OUT, ROLE, evil, failing
from .server import Served

pytestmark = pytest.mark.integration


def finished(served: Served, arn: str) -> dict[str, Any]:
    """The execution's description once it is no longer running."""
    for _ in range(600):
        described = served.engine.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"{arn} still running")


def machine(served: Served, name: str, definition: dict[str, Any]) -> str:
    out = served.engine.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE
    )
    return str(out["stateMachineArn"])


def execute(served: Served, arn: str, value: Any = None) -> str:
    out = served.engine.start_execution(stateMachineArn=arn, input=json.dumps(value or {}))
    finished(served, out["executionArn"])
    return str(out["executionArn"])


def path(kind: str, arn: str, rest: str = "") -> str:
    return f"/console/{kind}/{quote(arn, safe=':/')}{rest}"


def test_root_redirects_to_the_console(served: Served) -> None:
    with served.client() as client:
        answer = client.get("/")
    assert answer.status_code == 307
    assert answer.headers["location"] == "/console/"


def test_every_page_sends_a_policy_that_forbids_inline_scripts(served: Served) -> None:
    with served.client() as client:
        answer = client.get("/console/")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_state_machines_list_and_twin(served: Served) -> None:
    arn = machine(served, "listed", failing())
    execute(served, arn)
    with served.client() as client:
        html = client.get("/console/").text
        twin = client.get("/console/?format=json").json()
        api = client.get("/console/api/state-machines").json()
    assert "listed" in html and "failed 1" in html
    [row] = [m for m in twin["stateMachines"] if m["name"] == "listed"]
    assert row["counts"] == {"FAILED": 1} and row["type"] == "STANDARD"
    assert api == twin


def test_machine_page_has_graph_definition_versions_and_start_form(served: Served) -> None:
    arn = machine(served, "fan", FAN_OUT)
    served.engine.publish_state_machine_version(stateMachineArn=arn, description="v1")
    execute(served, arn, {"first": True})
    with served.client() as client:
        html = client.get(path("state-machines", arn)).text
        twin = client.get(path("state-machines", arn) + "?format=json").json()
        api = client.get("/console/api" + path("state-machines", arn)[len("/console") :]).json()
    assert 'id="graph-data"' in html and "Item processor (inline)" in html
    assert "fan:1" in html  # the published version
    assert "&#34;first&#34;: true" in html or "&quot;first&quot;: true" in html  # prefilled
    assert f'name="csrf" value="{served.token}"' in html
    assert {g["kind"] for g in twin["graph"]["groups"]} == {
        "parallel",
        "branch",
        "map",
        "processor",
    }
    assert twin["versions"][0]["stateMachineVersionArn"].endswith(":fan:1")
    assert json.loads(twin["lastInput"]) == {"first": True}
    assert api["stateMachine"]["name"] == "fan"


def test_execution_page_shows_outcomes_visits_and_failure(served: Served) -> None:
    arn = execute(served, machine(served, "breaks", failing("Bad.Thing", "the cause")))
    with served.client() as client:
        html = client.get(path("executions", arn)).text
        twin = client.get(path("executions", arn) + "?format=json").json()
    assert "Bad.Thing" in html and "the cause" in html
    assert twin["execution"]["status"] == "FAILED"
    assert twin["states"]["Explode"]["outcome"] == "failed"
    assert twin["states"]["First"]["outcome"] == "succeeded"
    assert [v["name"] for v in twin["visits"]] == ["First", "Explode"]
    assert twin["transitions"] == 2


def test_history_is_paged_and_filtered_by_type(served: Served) -> None:
    arn = execute(served, machine(served, "hist", FAN_OUT))
    with served.client() as client:
        everything = client.get(path("executions", arn, "/history?format=json")).json()
        only = client.get(path("executions", arn, "/history?format=json&type=PassStateEntered"))
        html = client.get(path("executions", arn, "/history")).text
    assert [e["id"] for e in everything["events"]] == list(range(1, len(everything["events"]) + 1))
    assert {e["type"] for e in only.json()["events"]} == {"PassStateEntered"}
    assert len(only.json()["events"]) == 4  # Prepare, Double twice, Left
    assert "ExecutionSucceeded" in html


def test_iterations_page_lists_inline_map_items(served: Served) -> None:
    arn = execute(served, machine(served, "iter", FAN_OUT))
    with served.client() as client:
        twin = client.get(path("executions", arn, "/iterations?format=json")).json()
        html = client.get(path("executions", arn, "/iterations")).text
    assert [(i["state"], i["index"], i["status"]) for i in twin["iterations"]] == [
        ("Each", 0, "SUCCEEDED"),
        ("Each", 1, "SUCCEEDED"),
    ]
    assert twin["iterations"][0]["states"] == ["Double"]
    assert "Inline Map iterations" in html


def test_executions_list_filters_and_pages_newest_first(served: Served) -> None:
    arn = machine(served, "many", failing())
    ok = machine(served, "fine", {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})
    started = [execute(served, arn) for _ in range(3)] + [execute(served, ok)]
    with served.client() as client:
        mine = client.get("/console/api/executions", params={"machine": arn}).json()
        failed = client.get("/console/api/executions", params={"status": "FAILED"}).json()
        everything = client.get("/console/executions?format=json").json()
    assert [e["executionArn"] for e in mine["executions"]] == started[2::-1]
    assert all(e["status"] == "FAILED" for e in failed["executions"])
    assert everything["executions"][0]["executionArn"] == started[-1]
    dates = [e["startDate"] for e in everything["executions"]]
    assert dates == sorted(dates, reverse=True)


def test_all_machines_list_pages_without_losing_or_repeating(served: Served) -> None:
    names = ["pa", "pb", "pc"]
    arns = [machine(served, n, failing()) for n in names]
    started = {execute(served, arns[i % 3]) for i in range(30)}
    seen: list[str] = []
    token = ""
    with served.client() as client:
        while True:
            page = client.get("/console/api/executions", params={"status": "FAILED", "next": token})
            body = page.json()
            seen += [e["executionArn"] for e in body["executions"]]
            token = body["nextToken"]
            if not token:
                break
    assert len(seen) == len(set(seen))
    assert started <= set(seen)


def test_a_page_token_not_of_the_console_is_a_clear_400(served: Served) -> None:
    with served.client() as client:
        answer = client.get("/console/executions", params={"next": "%%%"})
        status = client.get("/console/api/executions", params={"status": "NOPE"})
    assert answer.status_code == 400 and "next: not a page token" in answer.text
    assert status.status_code == 400 and "NOPE" in status.json()["message"]


def test_unknown_execution_is_a_404_page(served: Served) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:nope:nothing"
    with served.client() as client:
        answer = client.get(path("executions", arn))
        twin = client.get(path("executions", arn) + "?format=json")
    assert answer.status_code == 404 and "ExecutionDoesNotExist" in answer.text
    assert twin.json()["error"] == "ExecutionDoesNotExist"


def test_names_and_values_are_escaped_in_pages_and_twins(served: Served) -> None:
    arn = machine(served, "evil", evil())
    run = execute(served, arn, {"x": EVIL})
    with served.client() as client:
        pages = [
            client.get("/console/").text,
            client.get(path("state-machines", arn)).text,
            client.get(path("executions", run)).text,
            client.get(path("executions", run, "/history")).text,
        ]
        twin = client.get(path("executions", run) + "?format=json")
    for html in pages:
        assert "<script>window" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in pages[2]
    # The embedded graph JSON escapes <, > and & too: no "</script>" can close its block.
    assert "\\u003cscript\\u003e" in pages[1]
    assert twin.headers["content-type"].startswith("application/json")
    assert EVIL in twin.json()["states"]


def test_changes_need_a_post_with_the_token(served: Served) -> None:
    arn = machine(served, "guarded", failing())
    start = path("state-machines", arn, "/start")
    with served.client() as client:
        no_token = client.post(start, data={"input": "{}"})
        wrong = client.post(start, data={"input": "{}", "csrf": "guess"})
        by_get = client.get(start)
        listed = served.engine.list_executions(stateMachineArn=arn)["executions"]
        good = client.post(start, data={"input": '{"k": 1}', "csrf": served.token})
    assert no_token.status_code == 403 and wrong.status_code == 403
    assert by_get.status_code in (400, 404, 405)  # read as a machine ARN: no such machine
    assert listed == []
    assert good.status_code == 303
    started = served.engine.list_executions(stateMachineArn=arn)["executions"]
    assert len(started) == 1
    assert good.headers["location"] == path("executions", started[0]["executionArn"])


def test_start_refuses_bad_json_with_a_clear_message(served: Served) -> None:
    arn = machine(served, "badjson", failing())
    with served.client() as client:
        answer = client.post(
            path("state-machines", arn, "/start"), data={"input": "{nope", "csrf": served.token}
        )
    assert answer.status_code == 400 and "input: not valid JSON" in answer.text


def test_stop_and_redrive_by_header_token(served: Served) -> None:
    hold = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}
    arn = machine(served, "held", hold)
    run = served.engine.start_execution(stateMachineArn=arn)["executionArn"]
    headers = {"x-csrf-token": served.token}
    with served.client() as client:
        refused = client.post(path("executions", run, "/stop"))
        stopped = client.post(path("executions", run, "/stop"), headers=headers)
        assert finished(served, run)["status"] == "ABORTED"
        redriven = client.post(path("executions", run, "/redrive"), headers=headers)
    assert refused.status_code == 403
    assert stopped.status_code == 200 and "stopDate" in stopped.json()
    assert redriven.status_code == 200 and "redriveDate" in redriven.json()
    assert served.engine.describe_execution(executionArn=run)["redriveCount"] == 1
    served.engine.stop_execution(executionArn=run)


def test_event_stream_sends_outcomes_until_the_execution_stops(served: Served) -> None:
    wait = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Next": "Hold"},
            "Hold": {"Type": "Wait", "Seconds": 1, "Next": "Last"},
            "Last": {"Type": "Succeed"},
        },
    }
    arn = machine(served, "streamed", wait)
    run = served.engine.start_execution(stateMachineArn=arn)["executionArn"]
    messages = []
    with (
        served.client() as client,
        client.stream("GET", path("executions", run, "/events")) as answer,
    ):
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if line.startswith("data: "):
                messages.append(json.loads(line[len("data: ") :]))
    last = messages[-1]
    assert last["status"] == "SUCCEEDED"
    assert {n: s["outcome"] for n, s in last["states"].items()} == {
        "First": "succeeded",
        "Hold": "succeeded",
        "Last": "succeeded",
    }
    ids = [e["id"] for m in messages for e in m["events"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids))


def test_distributed_map_runs_and_their_children_have_pages(served: Served) -> None:
    distributed = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "One",
                    "States": {"One": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    arn = execute(served, machine(served, "dist", distributed), {"xs": [1, 2, 3]})
    with served.client() as client:
        viewer = client.get(path("executions", arn, "/iterations?format=json")).json()
        [run] = viewer["mapRuns"]
        child = run["executions"][0]["executionArn"]
        assert "/" in child  # a child's ARN holds its Map's label
        page = client.get(path("executions", child) + "?format=json").json()
        html = client.get(path("executions", child)).text
        events = client.get(path("executions", child, "/history?format=json"))
    assert run["mapRun"]["status"] == "SUCCEEDED" and len(run["executions"]) == 3
    assert page["parentExecutionArn"] == arn
    assert page["states"]["One"]["outcome"] == "succeeded"
    assert "Parent" in html
    assert events.status_code == 200 and events.json()["events"][0]["type"] == "ExecutionStarted"
