"""The ``authorize`` hook (the server's ``--auth sigv4`` plugs in there): a request it
refuses sees nothing and changes nothing."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount

from stepfn.console.app import console_app

from .machines import ROLE, failing, virtual_engine

pytestmark = pytest.mark.integration


async def call(app: Starlette, method: str, path: str, **options: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        return await client.request(method, path, **options)  # type: ignore[arg-type]


def test_a_refused_request_gets_401_and_starts_nothing() -> None:
    def authorize(request: Request) -> bool:
        return request.headers.get("authorization") == "yes"

    with virtual_engine() as engine:
        arn = engine.create_state_machine(
            name="auth", definition=json.dumps(failing()), roleArn=ROLE
        )["stateMachineArn"]
        app = Starlette(
            routes=[Mount("/console", app=console_app(engine, token="t", authorize=authorize))]
        )
        start = f"/console/state-machines/{arn}/start"
        refused = asyncio.run(call(app, "GET", "/console/?format=json"))
        refused_post = asyncio.run(call(app, "POST", start, headers={"x-csrf-token": "t"}))
        allowed = asyncio.run(
            call(app, "GET", "/console/?format=json", headers={"authorization": "yes"})
        )
        assert engine.list_executions(stateMachineArn=arn)["executions"] == []
    assert refused.status_code == 401 and refused.json()["error"] == "Unauthorized"
    assert refused_post.status_code == 401
    assert allowed.status_code == 200 and allowed.json()["stateMachines"][0]["name"] == "auth"


def test_an_empty_token_is_refused() -> None:
    with virtual_engine() as engine, pytest.raises(ValueError, match="token"):
        console_app(engine, token="")
