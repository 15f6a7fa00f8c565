"""Test tiers: every test is ``unit``, ``integration`` or ``acceptance``.

* unit: in-process, no server, no subprocess (``make test-unit``, under a minute);
* integration: starts a server, a subprocess or a real client (boto3 over HTTP, the AWS
  CLI, node, a database server);
* acceptance: whole recorded executions and end-to-end runs (the conformance cases, the
  examples).

A test marked ``integration`` or ``acceptance`` keeps its mark; the folders below give
the rest theirs, and anything else is a unit test. ``make test`` runs all three.
"""

from __future__ import annotations

import pytest

TIERS = ("unit", "integration", "acceptance")

# Paths (relative to tests/) whose unmarked tests belong to a tier other than unit.
BY_PATH = {
    "api/": "integration",
    "durable/test_crash.py": "integration",
    "conformance/test_conformance.py": "acceptance",
    "conformance/test_engine_conformance.py": "acceptance",
    "examples/": "acceptance",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every collected test exactly one tier marker."""
    for item in items:
        if any(item.get_closest_marker(tier) for tier in TIERS):
            continue
        path = item.nodeid.split("::", 1)[0].removeprefix("tests/")
        tier = next((t for prefix, t in BY_PATH.items() if path.startswith(prefix)), "unit")
        item.add_marker(getattr(pytest.mark, tier))
