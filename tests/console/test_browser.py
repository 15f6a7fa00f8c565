"""The console in a real browser: Debian's chromium, driven by Playwright."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from .browser import browser_page
from .machines import EVIL, ROLE, evil, failing
from .server import Served
from .test_http import execute, finished, machine

pytestmark = [pytest.mark.acceptance, pytest.mark.integration]

SLOW = {
    "StartAt": "Begin",
    "States": {
        "Begin": {"Type": "Pass", "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 3, "Next": "Finish"},
        "Finish": {"Type": "Pass", "End": True},
    },
}


def node(page: Any, name: str) -> Any:
    return page.locator("#graph g.node").filter(has=page.locator(f"text.name >> text='{name}'"))


def outcome_of(page: Any, name: str) -> str:
    return str(page.locator(f'#graph g.node[data-name="{name}"]').get_attribute("data-outcome"))


def test_start_an_execution_and_watch_its_states_turn_green(served: Served) -> None:
    arn = machine(served, "slow", SLOW)
    with browser_page() as page:
        page.goto(f"{served.url}/console/state-machines/{quote(arn, safe=':/')}")
        page.wait_for_selector("#graph[data-drawn=true]")
        editor = page.locator("#start-input")
        editor.fill("{not json")
        assert page.locator("form.start button[type=submit]").is_disabled()
        assert "Not valid JSON" in page.locator(".json-problem").inner_text()
        editor.fill(json.dumps({"order": 7}))
        page.locator("form.start button[type=submit]").click()
        page.wait_for_url("**/console/executions/**")
        page.wait_for_selector("#graph[data-drawn=true]")
        url = page.url
        # While the Wait holds, the Pass before it is green and the Wait is running.
        page.wait_for_selector('#graph g.node[data-name="Pause"][data-outcome="running"]')
        assert outcome_of(page, "Begin") == "succeeded"
        assert outcome_of(page, "Finish") == "not-reached"
        # Then, on the same page (no reload), every state turns green.
        page.wait_for_selector(
            '#graph g.node[data-name="Finish"][data-outcome="succeeded"]', timeout=30_000
        )
        assert outcome_of(page, "Pause") == "succeeded"
        assert page.url == url
        assert page.locator("#execution-status").inner_text() == "SUCCEEDED"
        assert page.locator("#live-note").is_visible()
    [run] = served.engine.list_executions(stateMachineArn=arn)["executions"]
    assert json.loads(
        served.engine.describe_execution(executionArn=run["executionArn"])["input"]
    ) == {"order": 7}


def test_a_failed_execution_shows_its_error_and_cause(served: Served) -> None:
    arn = execute(served, machine(served, "sad", failing("Payment.Declined", "card expired")))
    with browser_page() as page:
        page.goto(f"{served.url}/console/executions/{quote(arn, safe=':/')}")
        page.wait_for_selector("#graph[data-drawn=true]")
        assert page.locator("#execution-error").inner_text() == "Payment.Declined"
        assert page.locator("#execution-cause").inner_text() == "card expired"
        assert outcome_of(page, "Explode") == "failed"
        assert outcome_of(page, "First") == "succeeded"


def test_an_injected_script_never_runs(served: Served) -> None:
    arn = machine(served, "evil-browser", evil())
    run = execute(served, arn, {"note": EVIL, "img": '<img src=x onerror="window.__pwned=2">'})
    pages = [
        "/console/",
        f"/console/state-machines/{quote(arn, safe=':/')}",
        f"/console/executions/{quote(run, safe=':/')}",
        f"/console/executions/{quote(run, safe=':/')}/history",
        "/console/executions",
    ]
    with browser_page() as page:
        blocked: list[str] = []
        page.on("console", lambda message: blocked.append(message.text))
        for where in pages:
            page.goto(served.url + where)
            page.wait_for_load_state("load")
            assert page.evaluate("typeof window.__pwned") == "undefined", where
        page.goto(f"{served.url}/console/executions/{quote(run, safe=':/')}")
        page.wait_for_selector("#graph[data-drawn=true]")
        # The name is drawn in the SVG as text, not as markup.
        assert page.locator("#graph g.node text.name").filter(has_text="<script>").count() == 1
        assert page.locator("#graph script").count() == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"


def test_the_graph_exports_as_svg(served: Served) -> None:
    arn = execute(served, machine(served, "exported", failing()))
    with browser_page() as page:
        page.goto(f"{served.url}/console/executions/{quote(arn, safe=':/')}")
        page.wait_for_selector("#graph[data-drawn=true]")
        with page.expect_download() as download:
            page.locator("button.export-svg").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("<svg") and "Explode" in text and "<style>" in text
    assert ROLE not in text


ROUTED = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Broken"}],
            "Default": "Done",
        },
        "Broken": {"Type": "Fail", "Error": "Counted.Failure"},
        "Done": {"Type": "Succeed"},
    },
}


def test_the_lists_count_executions_by_status_exactly(served: Served) -> None:
    arn = machine(served, "counted", ROUTED)
    # More than the 50 that the counts stopped at before they were exact.
    runs = [
        served.engine.start_execution(stateMachineArn=arn, input=json.dumps({"fail": i < 57}))
        for i in range(60)
    ]
    for run in runs:
        finished(served, run["executionArn"])
    with browser_page() as page:
        page.goto(f"{served.url}/console/")
        row = page.locator("tr").filter(has=page.get_by_role("link", name="counted", exact=True))
        while not row.count():  # other tests' machines may come first: the next page
            page.locator(".pager a").click()
            page.wait_for_load_state("load")
        assert row.locator(".count.status-failed").inner_text() == "failed 57"
        assert row.locator(".count.status-succeeded").inner_text() == "succeeded 3"
        assert row.locator(".count.status-running").count() == 0
        row.get_by_role("link", name="counted", exact=True).click()
        page.wait_for_selector("#graph[data-drawn=true]")
        assert page.locator(".count.status-failed").inner_text() == "failed 57"
        assert page.locator(".count.status-succeeded").inner_text() == "succeeded 3"
