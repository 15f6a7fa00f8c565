"""Redriving a distributed Map's map run, as AWS redrives one with its parent.

Redriving an execution that stopped in a distributed Map (ExecutionType STANDARD)
whose map run had started goes on with that map run rather than starting another: the
map run keeps its ARN and records ``MapRunRedriven``; its children that succeeded keep
their results and do not run again; each unsuccessful one (failed, aborted, timed out)
is redriven as the same child execution; its items that never started start now.

Two halves, because the interpreter reads no store:

* ``map_run_to_redrive`` (RedriveExecution) finds the map run and writes what the
  ``Redrive`` stimulus needs of it into the inbox: its ARN, the id of its
  ``MapRunStarted`` and its new redrive count. Not its children: a map run may have
  thousands, and the outputs of those that succeeded may be large.
* ``with_children`` (the worker, when it applies the stimulus) reads the children of that
  run from the store, with their item indexes, histories' next event ids and outputs.
  The parent is not running between the two, so its children cannot change.
"""

from __future__ import annotations

import json
from dataclasses import replace

from stepfn.definition.model import Machine, MapState
from stepfn.durable.map_run_events import map_runs_of
from stepfn.interp.commands import Redrive, RedrivenChild
from stepfn.interp.runstate import run_state_from_json
from stepfn.store.base import ExecutionQuery, ExecutionRecord, Store


def map_run_to_redrive(
    store: Store, machine: Machine, record: ExecutionRecord
) -> dict[str, object] | None:
    """The map run that redriving ``record`` (which runs ``machine``) goes on with, as
    the ``map_run`` of its ``Redrive`` stimulus; None when the execution did not stop
    in a distributed Map of its own whose map run had started (the state where it
    stopped then runs again whole; a Map whose map run never started starts one).

    Only a Map of the execution's top level is redriven this way: one inside a Parallel
    branch or a Map iteration runs again whole with its enclosing state."""
    if not record.run_state:
        return None
    run = run_state_from_json(record.run_state)
    root = run.threads.get("")
    if root is None or not root.state:
        return None
    state = machine.states.get(root.state)
    if not isinstance(state, MapState) or not state.distributed:
        return None
    if state.execution_type != "STANDARD":
        return None  # EXPRESS children are not stored: nothing to redrive them from
    # The map run of the Map's last entry: started after its MapStateEntered.
    runs = [
        run
        for run in map_runs_of(store.get_events(record.arn), record.arn)
        if run.started.id > root.entered_id
    ]
    if not runs:
        return None
    last = runs[-1]
    return {
        "arn": last.arn,
        "started_event_id": last.started.id,
        "redrive_count": last.redrive_count + 1,
    }


def with_children(store: Store, stimulus: Redrive) -> Redrive:
    """``stimulus`` with the children of its map run attached, as the store has them
    (a stimulus without a map run, or with its children already, as it is). Children
    written before stepfn stored item indexes cannot be placed: their Map runs again
    whole, as it did then."""
    map_run = stimulus.map_run
    if map_run is None or map_run.children:
        return stimulus
    children = []
    query = ExecutionQuery(map_run_arn=map_run.arn, map_run_event_id=map_run.started_event_id)
    for record in store.list_executions(query):
        if record.item_index is None:
            return Redrive(stimulus.redrive_count)
        output = None
        if record.status == "SUCCEEDED" and record.output is not None:
            output = json.loads(record.output)
        children.append(
            RedrivenChild(
                index=record.item_index,
                arn=record.arn,
                status=record.status,
                next_event_id=record.next_event_id,
                redrive_count=record.redrive_count,
                start_date=record.start_date,
                output=output,
            )
        )
    children.sort(key=lambda child: child.index)
    return replace(stimulus, map_run=replace(map_run, children=tuple(children)))
