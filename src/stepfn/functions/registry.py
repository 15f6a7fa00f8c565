"""Functions by name: ``$LATEST``, published versions and aliases, held in memory.

The small interface here (``put``, ``get``, ``publish``, aliases, ``delete``) is what the
Lambda API and the task adapter need; a durable registry backed by the store can offer
the same methods. ``get`` is the lookup a ``LambdaFunctions`` adapter is given.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass

from stepfn.functions.model import LATEST, FunctionConfig

_ALIAS = re.compile(r"^(?!^[0-9]+$)[A-Za-z0-9_-]{1,128}$")


class FunctionNotFound(KeyError):
    """No such function, version or alias."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "Function not found"


@dataclass(frozen=True, slots=True)
class Alias:
    """A name for one published version (or ``$LATEST``)."""

    name: str
    function_version: str
    description: str = ""


class FunctionRegistry:
    """Function name -> versions -> configuration, and aliases; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, dict[str, FunctionConfig]] = {}
        self._aliases: dict[str, dict[str, Alias]] = {}
        self._next: dict[str, int] = {}

    def put(self, config: FunctionConfig) -> FunctionConfig:
        """Create the function or replace its ``$LATEST``; returns what is stored."""
        if config.version != LATEST:
            config = dataclasses.replace(config, version=LATEST)
        with self._lock:
            self._versions.setdefault(config.name, {})[LATEST] = config
            self._next.setdefault(config.name, 1)
        return config

    def get(self, name: str, qualifier: str | None = None) -> FunctionConfig | None:
        """The configuration named by a version or alias (default ``$LATEST``), or None."""
        with self._lock:
            versions = self._versions.get(name)
            if versions is None:
                return None
            if qualifier is None or qualifier == "":
                return versions.get(LATEST)
            if qualifier in versions:
                return versions[qualifier]
            alias = self._aliases.get(name, {}).get(qualifier)
            return versions.get(alias.function_version) if alias else None

    __call__ = get  # a registry is itself a lookup callable

    def names(self) -> list[str]:
        """Every function's name, sorted."""
        with self._lock:
            return sorted(self._versions)

    def versions(self, name: str) -> list[FunctionConfig]:
        """``$LATEST`` then the published versions in order."""
        with self._lock:
            versions = self._require(name)
            numbered = sorted((v for k, v in versions.items() if k != LATEST), key=_number)
            latest = versions.get(LATEST)
            return ([latest] if latest else []) + numbered

    def publish(self, name: str, description: str | None = None) -> FunctionConfig:
        """Publish ``$LATEST`` as the next version number, unless it equals the last one
        published (Lambda then returns that version again)."""
        with self._lock:
            versions = self._require(name)
            latest = versions[LATEST]
            published = [v for k, v in versions.items() if k != LATEST]
            if published:
                last = max(published, key=_number)
                if (
                    dataclasses.replace(last, version=LATEST, description=latest.description)
                    == latest
                ):
                    return last
            number = self._next[name]
            self._next[name] = number + 1
            config = dataclasses.replace(
                latest,
                version=str(number),
                description=latest.description if description is None else description,
            )
            versions[config.version] = config
            return config

    def delete(self, name: str, qualifier: str | None = None) -> None:
        """Delete the function (every version and alias), or one published version."""
        with self._lock:
            versions = self._require(name)
            if qualifier is None or qualifier == LATEST:
                del self._versions[name]
                self._aliases.pop(name, None)
                self._next.pop(name, None)
                return
            if qualifier not in versions:
                raise FunctionNotFound(f"Function not found: {name}:{qualifier}")
            del versions[qualifier]

    def set_alias(
        self, name: str, alias: str, function_version: str, description: str = ""
    ) -> Alias:
        """Create or move an alias to a version of the function."""
        if not _ALIAS.match(alias):
            raise ValueError(f"Alias name {alias!r} must be 1-128 letters, digits, '-' or '_'")
        with self._lock:
            versions = self._require(name)
            if function_version not in versions:
                raise FunctionNotFound(f"Function not found: {name}:{function_version}")
            record = Alias(alias, function_version, description)
            self._aliases.setdefault(name, {})[alias] = record
            return record

    def aliases(self, name: str) -> list[Alias]:
        """The function's aliases, by name."""
        with self._lock:
            self._require(name)
            return sorted(self._aliases.get(name, {}).values(), key=lambda a: a.name)

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove an alias (a missing one is not an error, as in Lambda)."""
        with self._lock:
            self._require(name)
            self._aliases.get(name, {}).pop(alias, None)

    def _require(self, name: str) -> dict[str, FunctionConfig]:
        versions = self._versions.get(name)
        if versions is None:
            raise FunctionNotFound(f"Function not found: {name}")
        return versions


def _number(config: FunctionConfig) -> int:
    return int(config.version)
