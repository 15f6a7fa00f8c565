"""Fixtures for the function runtime tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stepfn.functions import FunctionRuntime


@pytest.fixture
def runtime() -> Iterator[FunctionRuntime]:
    rt = FunctionRuntime(pool_size=4, idle_seconds=600)
    yield rt
    rt.close()
