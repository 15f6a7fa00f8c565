"""Fixtures of the API tests: one real stepfn server per test module (see helpers.py),
and a check on every successful Step Functions answer: each member must be one that
botocore's output shape for the operation has (SDKs drop members they do not know, so
one of ours that AWS does not send would go unnoticed by the clients' tests).

A module whose operations go through the store (executions, activities, task tokens,
map runs, functions, IAM, logs) says ``ON_EVERY_STORE = True``: its server then runs
on SQLite and again on PostgreSQL (a schema of its own on the server the test process
starts; skipped, saying why, when PostgreSQL is not installed). The others (framing,
signatures, protocols, the SDKs' own checks) do not touch what differs between stores.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape

from stepfn.api.app import Api

from .helpers import STORES, Live, client, start_server, stop_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import pg  # tests/pg.py

_MODEL = botocore.session.get_session().get_service_model("stepfunctions")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the modules that say ``ON_EVERY_STORE`` once per store, a server each."""
    if "store_kind" in metafunc.fixturenames and getattr(metafunc.module, "ON_EVERY_STORE", False):
        metafunc.parametrize("store_kind", STORES, indirect=True, scope="module")


@pytest.fixture(scope="module")
def store_kind(request: pytest.FixtureRequest) -> str:
    """The store the module's server runs on: ``sqlite`` unless parametrized."""
    return str(getattr(request, "param", "sqlite"))


def unknown_members(shape: Shape | None, value: Any, path: str) -> list[str]:
    """Where ``value`` holds members that ``shape`` (and the shapes in it) do not have."""
    if shape is None:
        return []
    found: list[str] = []
    if shape.type_name == "structure":
        members = shape.members  # type: ignore[attr-defined]
        for key, item in value.items():
            if key not in members:
                found.append(f"{path}.{key}")
            else:
                found += unknown_members(members[key], item, f"{path}.{key}")
    elif shape.type_name == "list":
        for item in value:
            found += unknown_members(shape.member, item, f"{path}[]")  # type: ignore[attr-defined]
    elif shape.type_name == "map":
        for item in value.values():
            found += unknown_members(shape.value, item, f"{path}{{}}")  # type: ignore[attr-defined]
    return found


@pytest.fixture(autouse=True)
def answers_have_only_the_models_members(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    found: list[str] = []
    answer = Api.invoke

    def checked(
        self: Api, operation: str, method: Callable[..., Any], params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        status, document = answer(self, operation, method, params)
        if status == 200 and operation in _MODEL.operation_names:
            output = _MODEL.operation_model(operation).output_shape
            found.extend(unknown_members(output, document, operation))
        return status, document

    answer_many = Api.invoke_batch

    def checked_many(
        self: Api, operation: str, many: Callable[..., Any], calls: Any
    ) -> list[tuple[int, dict[str, Any]]]:
        # StartExecution through the server is answered here (asgi.Batches), not by invoke.
        answers = answer_many(self, operation, many, calls)
        if operation in _MODEL.operation_names:
            output = _MODEL.operation_model(operation).output_shape
            for status, document in answers:
                if status == 200:
                    found.extend(unknown_members(output, document, operation))
        return answers

    monkeypatch.setattr(Api, "invoke", checked)
    monkeypatch.setattr(Api, "invoke_batch", checked_many)
    yield
    assert not found, f"answers with members AWS's model does not have: {sorted(set(found))}"


@pytest.fixture(scope="module")
def live(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for the module (per store, see ``ON_EVERY_STORE``)."""
    tmp = tmp_path_factory.mktemp("stepfn-api")
    served = start_server(tmp, pg.store_url(store_kind, tmp))
    yield served
    stop_server(served)


@pytest.fixture(scope="module")
def sfn(live: Live) -> Iterator[Any]:
    """A boto3 client with the SDK's own parameter checks (as users have it)."""
    made = client(live.url)
    yield made
    made.close()  # its pooled sockets, else a ResourceWarning whenever it is collected


@pytest.fixture(scope="module")
def raw(live: Live) -> Iterator[Any]:
    """A boto3 client that sends whatever it is given: the server's checks answer."""
    made = client(live.url, parameter_validation=False)
    yield made
    made.close()
