"""FunctionRegistry: $LATEST, published versions, aliases."""

from __future__ import annotations

import dataclasses

import pytest

from stepfn.functions import FunctionConfig
from stepfn.functions.registry import FunctionNotFound, FunctionRegistry


def config(**changes: object) -> FunctionConfig:
    base = FunctionConfig("orders", "python3.12", "app.handler", "code")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_versions_and_aliases() -> None:
    registry = FunctionRegistry()
    registry.put(config())
    v1 = registry.publish("orders")
    assert v1.version == "1"
    assert registry.publish("orders") is v1  # nothing changed: the same version again
    registry.put(config(timeout=10))
    v2 = registry.publish("orders", description="slower")
    assert (v2.version, v2.timeout, v2.description) == ("2", 10, "slower")
    registry.set_alias("orders", "live", "1")
    assert registry.get("orders", "live") == v1
    assert registry.get("orders", "2") == v2
    assert registry.get("orders") == registry.get("orders", "$LATEST") == config(timeout=10)
    assert registry("orders", "9") is None and registry("missing", None) is None
    assert [c.version for c in registry.versions("orders")] == ["$LATEST", "1", "2"]
    registry.set_alias("orders", "live", "2")
    assert [a.function_version for a in registry.aliases("orders")] == ["2"]
    registry.delete("orders", "1")
    assert registry.get("orders", "1") is None
    registry.delete("orders")
    assert registry.names() == []


def test_errors_name_what_is_missing() -> None:
    registry = FunctionRegistry()
    with pytest.raises(FunctionNotFound, match="Function not found: nope"):
        registry.publish("nope")
    registry.put(config())
    with pytest.raises(FunctionNotFound, match="orders:7"):
        registry.set_alias("orders", "live", "7")
    with pytest.raises(ValueError, match="Alias name '12'"):
        registry.set_alias("orders", "12", "$LATEST")
