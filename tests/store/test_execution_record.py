"""ExecutionRecord.copy: a shallow copy, as copy.copy makes."""

from __future__ import annotations

import copy
import dataclasses

from stepfn.store.base import ExecutionRecord


def record() -> ExecutionRecord:
    return ExecutionRecord(
        arn="arn:aws:states:us-east-1:123456789012:execution:m:e",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:m",
        name="e",
        type="STANDARD",
        status="RUNNING",
        input="{}",
        start_date=1.5,
        definition='{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}',
        run_state='{"threads":{}}',
        next_event_id=7,
        item_index=3,
    )


def test_a_copy_has_every_field_and_changes_apart_from_the_original() -> None:
    original = record()
    made = original.copy()
    assert made == original == copy.copy(original)
    assert made is not original
    assert dataclasses.asdict(made) == dataclasses.asdict(original)
    made.status, made.next_event_id = "SUCCEEDED", 9
    assert (original.status, original.next_event_id) == ("RUNNING", 7)
