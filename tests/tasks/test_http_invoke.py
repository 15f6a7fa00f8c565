"""HTTP Tasks and API Gateway calls against a local HTTP server."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import stepfn
from moto_server import free_port
from stepfn.durable.local import run as run_local
from stepfn.tasks.base import Registry
from stepfn.tasks.http_invoke import HttpTasks

pytestmark = pytest.mark.integration
SLOW_SECONDS = 2.0


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _answer(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if parts.path.endswith("/fail"):
            self._send(500, {"message": "broken"})
        elif parts.path.endswith("/slow"):
            time.sleep(SLOW_SECONDS)
            self._send(200, {})
        else:
            echo = {
                "method": self.command,
                "path": parts.path,
                "query": parts.query,
                "body": body,
                "content_type": self.headers.get("Content-Type"),
                "authorization": self.headers.get("Authorization"),
                "x_custom": self.headers.get("X-Custom"),
            }
            self._send(200, echo)

    def _send(self, status: int, document: Any) -> None:
        data = json.dumps(document).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    do_GET = do_POST = do_PUT = _answer


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def http_task(parameters: dict[str, Any]) -> dict[str, Any]:
    state = {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True}
    return {"StartAt": "T", "States": {"T": {**state, "Parameters": parameters}}}


def test_get_with_query_and_headers(server: str) -> None:
    ex = stepfn.run(
        http_task(
            {
                "ApiEndpoint": f"{server}/items",
                "Method": "GET",
                "Headers": {"X-Custom": "yes"},
                "QueryParameters": {"a": "1", "b": ["x", "y"]},
            }
        )
    )
    assert ex.status == "SUCCEEDED", ex.cause
    out = ex.output
    assert out["StatusCode"] == 200 and out["StatusText"] == "OK"
    assert out["Headers"]["Content-Type"] == ["application/json"]
    assert out["ResponseBody"]["query"] == "a=1&b=x&b=y"
    assert out["ResponseBody"]["x_custom"] == "yes"


def test_url_encoded_body_with_each_array_format(server: str) -> None:
    expected = {
        "INDICES": "k%5B0%5D=1&k%5B1%5D=2&n=v",
        "REPEAT": "k=1&k=2&n=v",
        "COMMAS": "k=1%2C2&n=v",
        "BRACKETS": "k%5B%5D=1&k%5B%5D=2&n=v",
    }
    for array_format, body in expected.items():
        ex = stepfn.run(
            http_task(
                {
                    "ApiEndpoint": f"{server}/form",
                    "Method": "POST",
                    "RequestBody": {"k": [1, 2], "n": "v"},
                    "Transform": {
                        "RequestBodyEncoding": "URL_ENCODED",
                        "RequestEncodingOptions": {"ArrayFormat": array_format},
                    },
                }
            )
        )
        echo = ex.output["ResponseBody"]
        assert echo["body"] == body, array_format
        assert echo["content_type"] == "application/x-www-form-urlencoded"


def test_json_body_and_basic_auth_through_a_connection(server: str) -> None:
    arn = "arn:aws:events:us-east-1:123456789012:connection/c/1"
    connection = {
        "AuthorizationType": "BASIC",
        "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}},
    }
    registry = Registry([HttpTasks(connections={arn: connection})])
    ex = run_local(
        http_task(
            {
                "ApiEndpoint": f"{server}/json",
                "Method": "POST",
                "RequestBody": {"a": 1},
                "Authentication": {"ConnectionArn": arn},
            }
        ),
        registry=registry,
    )
    registry.close()
    echo = ex.output["ResponseBody"]
    assert echo["body"] == '{"a":1}' and echo["content_type"] == "application/json"
    assert echo["authorization"] == "Basic dTpw"


def test_an_error_status_is_states_http_status_code(server: str) -> None:
    ex = stepfn.run(http_task({"ApiEndpoint": f"{server}/fail", "Method": "GET"}))
    assert ex.status == "FAILED"
    assert ex.error == "States.Http.StatusCode.500"
    cause = json.loads(ex.cause)
    assert cause["StatusCode"] == 500 and cause["ResponseBody"] == {"message": "broken"}


def test_a_timeout_is_a_socket_error(server: str) -> None:
    registry = Registry([HttpTasks(timeout=SLOW_SECONDS / 4)])
    ex = run_local(http_task({"ApiEndpoint": f"{server}/slow", "Method": "GET"}), registry=registry)
    registry.close()
    assert ex.error == "States.Http.Socket"
    assert "timed out" in ex.cause


def test_a_refused_connection_is_a_socket_error() -> None:
    port = free_port()  # nothing listens there
    ex = stepfn.run(http_task({"ApiEndpoint": f"http://127.0.0.1:{port}/x", "Method": "GET"}))
    assert ex.error == "States.Http.Socket"
    assert f"Unable to connect to http://127.0.0.1:{port}/x" in ex.cause


def test_bad_parameters_fail_naming_the_field() -> None:
    ex = stepfn.run(http_task({"ApiEndpoint": "nowhere", "Method": "GET"}))
    assert ex.error == "States.Runtime"
    assert "'ApiEndpoint' must be an http(s) URL" in ex.cause


def test_a_route_sends_the_request_to_a_stand_in(server: str) -> None:
    routing = {"routes": [{"resource": "arn:aws:states:::http:invoke", "endpoint_url": server}]}
    ex = stepfn.run(
        http_task({"ApiEndpoint": "https://api.example.com/v1/things?x=1", "Method": "GET"}),
        routing=routing,
    )
    assert ex.output["ResponseBody"]["path"] == "/v1/things"
    assert ex.output["ResponseBody"]["query"] == "x=1"


def test_apigateway_invoke_to_a_routed_api(server: str) -> None:
    routing = {
        "routes": [{"resource": "arn:aws:states:::apigateway:invoke", "endpoint_url": server}]
    }
    params = {
        "ApiEndpoint": "abc.execute-api.us-east-1.amazonaws.com",
        "Method": "POST",
        "Stage": "prod",
        "Path": "echo",
        "QueryParameters": {"q": ["1"]},
        "RequestBody": {"m": "hi"},
    }
    state = {"Type": "Task", "Resource": "arn:aws:states:::apigateway:invoke", "End": True}
    definition = {"StartAt": "T", "States": {"T": {**state, "Parameters": params}}}
    ex = stepfn.run(definition, routing=routing)
    assert ex.status == "SUCCEEDED", ex.cause
    echo = ex.output["ResponseBody"]
    assert echo["path"] == "/prod/echo" and echo["query"] == "q=1" and echo["body"] == '{"m":"hi"}'
    params["Path"] = "fail"
    failed = stepfn.run(definition, routing=routing)
    assert failed.error == "ApiGateway.500"
    assert json.loads(failed.cause) == {"message": "broken"}
    params["Headers"] = {"h": "not-a-list"}
    bad = stepfn.run(definition, routing=routing)
    assert bad.error == "States.Runtime" and "'Headers' has an invalid format" in bad.cause
