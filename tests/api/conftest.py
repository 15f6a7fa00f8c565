"""Fixtures of the API tests: one real stepfn server per test module (see helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import Live, client, start_server, stop_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for the module."""
    served = start_server(tmp_path_factory.mktemp("stepfn-api"))
    yield served
    stop_server(served)


@pytest.fixture(scope="module")
def sfn(live: Live) -> Any:
    """A boto3 client with the SDK's own parameter checks (as users have it)."""
    return client(live.url)


@pytest.fixture(scope="module")
def raw(live: Live) -> Any:
    """A boto3 client that sends whatever it is given: the server's checks answer."""
    return client(live.url, parameter_validation=False)
