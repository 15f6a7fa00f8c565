"""A Map's ``ItemReader`` and ``ItemBatcher``: where its items come from and how they are
grouped, without any I/O.

A Map with an ``ItemReader`` does not find its items in its input: they are read from S3
(an object of JSON, JSON Lines or CSV, an S3 inventory manifest, or a bucket listing).
Reading is I/O, so the interpreter only asks for it: on entering the Map it records
``MapStateStarted`` and ``MapRunStarted`` (as AWS does, before it has the items),
evaluates the reader's ``Parameters`` (``Arguments`` in JSONata) and ``MaxItems``, and
issues an ``InvokeTask`` with the reader's resource and this payload::

    {"Parameters": {"Bucket": "b", "Key": "k"},
     "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 10}}

The Map's thread then waits on the task's token like a Task state. The engine carries
the task out through its adapters (``tasks/s3_items.py``); the items come back as the
task's output (a list) and the Map starts its children. A failed read fails the map run
with ``States.ItemReaderFailed``.

``ItemBatcher`` groups the items into ``{"BatchInput": ..., "Items": [...]}`` objects by
``MaxItemsPerBatch`` and ``MaxInputBytesPerBatch`` (or their ``...Path`` forms, or JSONata
expressions), each batch one child.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from stepfn import errors
from stepfn.definition.model import MapState
from stepfn.errors import StateError
from stepfn.interp import flow
from stepfn.interp.commands import InvokeTask
from stepfn.interp.dataflow import evaluate_template, read_field
from stepfn.lang.jsonpath import compile_path

if TYPE_CHECKING:
    from stepfn.interp.runstate import FanOut, Thread
    from stepfn.interp.step_context import StepContext

READING = "reading"  # FanOut.phase while the items are being read
MAX_ITEMS_LIMIT = 100_000_000  # AWS reads at most this many items
MAX_ITEMS_CAUSE = "field MaxItems must be positive"  # AWS's cause, recorded


class ReaderFailed(Exception):
    """The reader's settings cannot be used: the map run fails with ``cause``."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def reads_items(state: MapState) -> bool:
    """Whether the Map reads its items through its ItemReader (not from its input)."""
    return state.item_reader is not None and state.distributed


def start_reading(interp: StepContext, thread: Thread, state: MapState, fan: FanOut) -> None:
    """Ask for the Map's items: an ``InvokeTask`` the engine answers with them. Raises
    ``ReaderFailed`` when the reader's settings are unusable."""
    reader = state.item_reader
    assert reader is not None
    raw = thread.state_input
    config = dict(reader.get("ReaderConfig") or {})
    if state.jsonata:
        bindings = flow.jsonata_bindings(interp, thread, raw)
        arguments = reader.get("Arguments")
        parameters = (
            flow.jsonata_value(interp, arguments, bindings, "Arguments")
            if arguments is not None
            else {}
        )
        if "MaxItems" in config:
            config["MaxItems"] = flow.jsonata_value(
                interp, config["MaxItems"], bindings, "MaxItems"
            )
    else:
        scope = interp.scope(thread)
        template = reader.get("Parameters")
        parameters = (
            evaluate_template(interp.compiled_template(template), fan.effective_input, scope)
            if template is not None
            else {}
        )
        path = config.pop("MaxItemsPath", None)
        if isinstance(path, str):
            config["MaxItems"] = read_field(compile_path(path), raw, scope)
    if "MaxItems" in config:
        config["MaxItems"] = max_items(config["MaxItems"])
    token = interp.ids.uuid()
    thread.token = token
    interp.run.tokens[token] = thread.id
    fan.phase = READING
    payload = {"Parameters": parameters, "ReaderConfig": config}
    interp.command(InvokeTask(token, str(reader["Resource"]), payload, state.name))


def max_items(value: Any) -> int:
    """``MaxItems`` as AWS takes it: a positive integer (text of one too), at most
    ``MAX_ITEMS_LIMIT``."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ReaderFailed(MAX_ITEMS_CAUSE) from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ReaderFailed(MAX_ITEMS_CAUSE)
    return min(value, MAX_ITEMS_LIMIT)


# --- ItemBatcher -------------------------------------------------------------------------------


def batch(interp: StepContext, thread: Thread, state: MapState, items: list[Any]) -> list[Any]:
    """The items grouped as the Map's ItemBatcher says (``items`` itself without one)."""
    batcher = state.item_batcher
    if not batcher:
        return items
    raw = thread.state_input
    if state.jsonata:
        bindings = flow.jsonata_bindings(interp, thread, raw)

        def field(name: str) -> Any:
            value = batcher.get(name)
            if value is None:
                return None
            return flow.jsonata_value(interp, value, bindings, name)

        count, size = field("MaxItemsPerBatch"), field("MaxInputBytesPerBatch")
        batch_input = field("BatchInput")
    else:
        scope = interp.scope(thread)

        def limit(name: str) -> Any:
            path = batcher.get(f"{name}Path")
            if isinstance(path, str):
                return read_field(compile_path(path), raw, scope)
            return batcher.get(name)

        count, size = limit("MaxItemsPerBatch"), limit("MaxInputBytesPerBatch")
        template = batcher.get("BatchInput")
        batch_input = (
            None
            if template is None
            else evaluate_template(interp.compiled_template(template), raw, scope)
        )
    per_batch = _positive(count, "MaxItemsPerBatch")
    max_bytes = _positive(size, "MaxInputBytesPerBatch")
    return group(items, per_batch, max_bytes, batch_input)


def group(
    items: list[Any], per_batch: int | None, max_bytes: int | None, batch_input: Any = None
) -> list[Any]:
    """Batches of at most ``per_batch`` items and (roughly, as AWS counts it: the items'
    JSON text) ``max_bytes`` bytes; every batch holds at least one item."""
    batches: list[Any] = []
    current: list[Any] = []
    used = 0
    for item in items:
        cost = len(json.dumps(item, separators=(",", ":")).encode()) if max_bytes else 0
        full = per_batch is not None and len(current) >= per_batch
        if current and (full or (max_bytes is not None and used + cost > max_bytes)):
            batches.append(_batch_of(current, batch_input))
            current, used = [], 0
        current.append(item)
        used += cost
    if current:
        batches.append(_batch_of(current, batch_input))
    return batches


def _batch_of(items: list[Any], batch_input: Any) -> dict[str, Any]:
    batch: dict[str, Any] = {}
    if batch_input is not None:
        batch["BatchInput"] = batch_input
    batch["Items"] = items
    return batch


def _positive(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            value = None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value == 0 and not isinstance(value, bool):
        return None  # 0: no limit
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        # Our wording: no recording shows an unusable batch limit.
        raise StateError(errors.RUNTIME, f"The field '{field}' must be a positive integer")
    return value
