"""The Step Functions service model: the operations and the shapes of their requests.

Every request, over HTTP or from Python through the Engine, is checked against the model
AWS publishes (the one the SDKs are generated from), so a request is refused with the
same constraint AWS would name (``validation.requests``). The
model is read from botocore's data when botocore is installed (``find_spec`` locates it
without importing it: the server must not depend on botocore), and otherwise from
``service-model.json`` beside this module: a trimmed copy of botocore's
``stepfunctions/2016-11-23/service-2.json`` (Apache-2.0) holding only what validation
needs: each operation's input shape, and for each shape its type, members, required
members, lengths, ranges, patterns, enums and sensitivity. Documentation and output
shapes are left out.

Regenerate the bundled copy (with botocore installed) by running::

    python -m stepfn.validation.model
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import json
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("stepfn.validation")

SERVICE = "stepfunctions"
API_VERSION = "2016-11-23"
BUNDLED = Path(__file__).with_name("service-model.json")

# The keys of a shape that validation reads; everything else is dropped when trimming.
_SHAPE_KEYS = ("type", "required", "min", "max", "pattern", "enum", "sensitive")

# Java regular expression classes the model uses that Python's ``re`` spells otherwise.
_JAVA_CLASSES = {r"\p{ASCII}": r"[\x00-\x7F]"}


@dataclass(frozen=True)
class Shape:
    """One shape of the model, as validation needs it."""

    name: str
    type: str
    members: dict[str, str] = field(default_factory=dict)  # member name -> shape name
    required: frozenset[str] = frozenset()
    min: int | float | None = None
    max: int | float | None = None
    pattern: str | None = None  # as the model writes it (and AWS quotes it)
    regex: re.Pattern[str] | None = None  # the same, compiled for Python
    enum: tuple[str, ...] = ()
    sensitive: bool = False
    member: str | None = None  # a list's item shape
    key: str | None = None  # a map's key shape
    value: str | None = None  # a map's value shape

    @property
    def plain(self) -> bool:
        """Whether a string of this shape is bound by its length alone (no enum, no pattern)."""
        return not self.enum and self.regex is None

    def fits(self, size: int | float) -> bool:
        """Whether ``size`` (a length or a value) is within the shape's min and max."""
        return (self.min is None or size >= self.min) and (self.max is None or size <= self.max)


@dataclass(frozen=True)
class Operation:
    """An operation: its name, its input shape and the host prefix SDKs add for it."""

    name: str
    input: str | None
    host_prefix: str | None = None


@dataclass(frozen=True)
class ServiceModel:
    """The operations and request shapes of the service."""

    operations: dict[str, Operation]
    shapes: dict[str, Shape]
    source: str  # where it was read from, for the server's log line


def trim(raw: dict[str, Any]) -> dict[str, Any]:
    """The parts of a botocore ``service-2.json`` document that validation reads.

    Only the shapes reachable from operation inputs are kept.
    """
    shapes: dict[str, Any] = raw["shapes"]
    operations: dict[str, Any] = {}
    kept: dict[str, Any] = {}

    def keep(name: str) -> None:
        if name in kept:
            return
        shape = shapes[name]
        out = {k: shape[k] for k in _SHAPE_KEYS if k in shape}
        kept[name] = out
        if shape["type"] == "structure":
            out["members"] = {m: ref["shape"] for m, ref in shape.get("members", {}).items()}
            for ref in out["members"].values():
                keep(ref)
        elif shape["type"] == "list":
            out["member"] = shape["member"]["shape"]
            keep(out["member"])
        elif shape["type"] == "map":
            out["key"] = shape["key"]["shape"]
            out["value"] = shape["value"]["shape"]
            keep(out["key"])
            keep(out["value"])

    for name, operation in sorted(raw["operations"].items()):
        entry: dict[str, Any] = {}
        if "input" in operation:
            entry["input"] = operation["input"]["shape"]
            keep(entry["input"])
        prefix = operation.get("endpoint", {}).get("hostPrefix")
        if prefix:
            entry["hostPrefix"] = prefix
        operations[name] = entry
    metadata = {k: raw["metadata"][k] for k in ("apiVersion", "jsonVersion", "targetPrefix")}
    return {
        "metadata": metadata,
        "operations": operations,
        "shapes": dict(sorted(kept.items())),
    }


def python_regex(pattern: str) -> re.Pattern[str] | None:
    """A model pattern (Java syntax) compiled for Python; None when it cannot be."""
    text = pattern
    for java, python in _JAVA_CLASSES.items():
        text = text.replace(java, python)
    try:
        return re.compile(text)
    except re.error:
        log.warning("service model pattern %r is not checked: Python cannot compile it", pattern)
        return None


def build(trimmed: dict[str, Any], source: str) -> ServiceModel:
    """A ``ServiceModel`` from a trimmed model document."""
    shapes: dict[str, Shape] = {}
    for name, data in trimmed["shapes"].items():
        pattern = data.get("pattern")
        shapes[name] = Shape(
            name=name,
            type=data["type"],
            members=dict(data.get("members", {})),
            required=frozenset(data.get("required", ())),
            min=data.get("min"),
            max=data.get("max"),
            pattern=pattern,
            regex=python_regex(pattern) if pattern is not None else None,
            enum=tuple(data.get("enum", ())),
            sensitive=bool(data.get("sensitive", False)),
            member=data.get("member"),
            key=data.get("key"),
            value=data.get("value"),
        )
    operations = {
        name: Operation(name, data.get("input"), data.get("hostPrefix"))
        for name, data in trimmed["operations"].items()
    }
    return ServiceModel(operations, shapes, source)


def botocore_model_path() -> Path | None:
    """Where botocore keeps the Step Functions model, if botocore is installed."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "data" / SERVICE / API_VERSION
        for name in ("service-2.json", "service-2.json.gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def _read_json(path: Path) -> dict[str, Any]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@functools.cache
def load(prefer_botocore: bool = True) -> ServiceModel:
    """The service model: botocore's when installed (and readable), else the bundled one.

    Read once per process (the model is immutable): every Engine and API shares it."""
    if prefer_botocore:
        path = botocore_model_path()
        if path is not None:
            try:
                return build(trim(_read_json(path)), f"botocore ({path.parent.name})")
            except (OSError, ValueError, KeyError) as exc:
                log.warning("cannot read botocore's model at %s (%s); using ours", path, exc)
    return build(_read_json(BUNDLED), "bundled")


def write_bundled(target: Path = BUNDLED) -> Path:
    """Regenerate the bundled trimmed model from botocore's (which must be installed)."""
    path = botocore_model_path()
    if path is None:
        raise SystemExit("botocore is not installed: nothing to generate the model from")
    text = json.dumps(trim(_read_json(path)), indent=1, sort_keys=False) + "\n"
    target.write_text(text, encoding="utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    written = write_bundled()
    sys.stdout.write(f"wrote {written.name}\n")
