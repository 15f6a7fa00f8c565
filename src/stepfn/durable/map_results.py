"""The results a distributed Map's ResultWriter writes, read from where the engine keeps
its child executions.

The interpreter asks for the write without the children's results (a map run may have
millions; see ``interp/result_writer.py``): its payload names the map run. The driver
completes the payload when it hands the task to its adapter, with ``Children``: the
map run's child executions, each ``{"ExecutionArn", "Name", "Input", "Output",
"Status", "Error", "Cause", "StartDate", "StopDate", "RedriveCount",
"StateMachineArn"}`` (payloads as JSON text, dates as epoch seconds). The durable
worker reads them from its store a page at a time, as the adapter writes them (so a map
run's results are never all in memory at once); ``stepfn.run`` gives its children.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Types only: an in-process run never opens a store, so it need not import one.
    from stepfn.store.base import ExecutionRecord, Store

RESULT_WRITER = re.compile(r"^arn:aws[a-z-]*:states:::s3:putObject$")
PAGE = 1000  # children read from the store at a time


def wants_children(resource: str, payload: Any) -> bool:
    """Whether a task is a ResultWriter's write of a map run with stored children."""
    return (
        RESULT_WRITER.match(resource) is not None
        and isinstance(payload, dict)
        and "MapRunArn" in payload
        and payload.get("ExecutionType", "STANDARD") == "STANDARD"
    )


def child_result(record: ExecutionRecord) -> dict[str, Any]:
    """What a result file needs of one stored child execution."""
    return {
        "ExecutionArn": record.arn,
        "Name": record.name,
        "Input": record.input,
        "Output": record.output,
        "Status": record.status,
        "Error": record.error,
        "Cause": record.cause,
        "StartDate": record.start_date,
        "StopDate": record.stop_date,
        "RedriveCount": record.redrive_count,
        "StateMachineArn": record.state_machine_arn,
        "Index": record.item_index,
    }


def stored_children(
    store: Store, map_run_arn: str, event_id: int | None
) -> Iterator[dict[str, Any]]:
    """The children of one run of a map run, read a page at a time as they are used
    (result files keep no order of AWS's either)."""
    # Here, not at the top: only a stored run gets here (see the imports).
    from stepfn.store.base import ExecutionQuery

    offset = 0
    while True:
        query = ExecutionQuery(
            map_run_arn=map_run_arn, map_run_event_id=event_id, limit=PAGE, offset=offset
        )
        page = store.list_executions(query)
        for record in page:
            yield child_result(record)
        if len(page) < PAGE:
            return
        offset += PAGE


def with_stored_children(store: Store, payload: dict[str, Any]) -> dict[str, Any]:
    """The write's payload with its map run's children from the store."""
    arn = str(payload["MapRunArn"])
    event_id = payload.get("MapRunEventId")
    return {**payload, "Children": stored_children(store, arn, event_id)}
