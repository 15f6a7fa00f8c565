"""A moto server for the task-adapter tests (one for the session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from moto_server import MotoServer, running_moto


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with running_moto() as server:
        yield server
