"""validate: Parallel branches and Map states (processors, limits, labels, reader).

Where a test says "recorded", the expected text is AWS's own answer from the recordings.
"""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import SCHEMA, TARGET, found, machine, map_state, one_state, pass_end, single, task

# --- Parallel and Map --------------------------------------------------------------------


def test_empty_branches_recorded() -> None:
    definition = machine({"StateName": {"Type": "Parallel", "Branches": [], "End": True}})
    assert single(definition) == ("/States/StateName/Branches", "Value cannot be empty", SCHEMA)


def test_branch_is_validated_as_a_machine() -> None:
    definition = one_state(
        {"Type": "Parallel", "Branches": [{"States": {}, "Extra": 1}], "End": True}
    )
    assert found(definition) == [
        ("/States/S/Branches[0]", "Field 'Extra' is not supported", SCHEMA),
        ("/States/S/Branches[0]", "These fields are required: [StartAt]", SCHEMA),
        ("/States/S/Branches[0]/States", "Value cannot be empty", SCHEMA),
    ]


def test_map_processor_is_validated_recursively() -> None:
    processor = {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Y"}}}
    definition = one_state({"Type": "Map", "ItemProcessor": processor, "End": True})
    assert found(definition) == [
        ("/States/S/ItemProcessor/States/X/Next", "Missing 'Next' target: Y", TARGET),
        ("/States/S/ItemProcessor", "Workflow has no terminal state", "MISSING_END_STATE"),
    ]


def test_map_needs_one_processor() -> None:
    definition = one_state({"Type": "Map", "End": True})
    assert single(definition)[1] == (
        "This object should have only one of the following fields: [ItemProcessor, Iterator]"
    )
    iterator = {"StartAt": "I", "States": {"J": pass_end()}}
    both = one_state(map_state(Iterator=iterator))
    assert (
        "/States/S",
        "There should only be one of the following fields: [ItemProcessor, Iterator]",
        SCHEMA,
    ) in found(both)


def test_map_limits() -> None:
    definition = one_state(
        map_state(MaxConcurrency=-1, ToleratedFailurePercentage=101, ToleratedFailureCount=1.5)
    )
    assert found(definition) == [
        ("/States/S/MaxConcurrency", "Minimum value is 0", SCHEMA),
        ("/States/S/ToleratedFailureCount", "Expected value of type Integer", SCHEMA),
        ("/States/S/ToleratedFailurePercentage", "Maximum value is 100", SCHEMA),
    ]


def test_processor_config() -> None:
    def config(processor_config: dict[str, Any]) -> list[tuple[str, str, str]]:
        processor = {
            "ProcessorConfig": processor_config,
            "StartAt": "I",
            "States": {"I": pass_end()},
        }
        return found(one_state({"Type": "Map", "ItemProcessor": processor, "End": True}))

    assert config({"Mode": "FAST"}) == [
        (
            "/States/S/ItemProcessor/ProcessorConfig/Mode",
            "Value should be one of the following: [INLINE, DISTRIBUTED]",
            SCHEMA,
        )
    ]
    assert config({"Mode": "DISTRIBUTED"}) == [
        (
            "/States/S/ItemProcessor/ProcessorConfig",
            "These fields are required: [ExecutionType]",
            SCHEMA,
        )
    ]
    assert config({"Mode": "INLINE", "ExecutionType": "STANDARD"}) == [
        (
            "/States/S/ItemProcessor/ProcessorConfig",
            "Field 'ExecutionType' is not supported",
            SCHEMA,
        )
    ]


def test_query_language_is_not_a_processor_field() -> None:
    processor = {"QueryLanguage": "JSONata", "StartAt": "I", "States": {"I": pass_end()}}
    assert single(one_state({"Type": "Map", "ItemProcessor": processor, "End": True})) == (
        "/States/S/ItemProcessor",
        "Field 'QueryLanguage' is not supported",
        SCHEMA,
    )


def test_express_child_workflows_refuse_sync() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "T",
        "States": {"T": task(Resource="arn:aws:states:::states:startExecution.sync")},
    }
    definition = one_state({"Type": "Map", "ItemProcessor": processor, "End": True})
    assert single(definition)[:2] == (
        "/States/S/ItemProcessor/States/T/Resource",
        "Express state machine does not support '.sync' service integration",
    )


def test_express_machine_refuses_distributed_map() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "I",
        "States": {"I": pass_end()},
    }
    definition = one_state({"Type": "Map", "ItemProcessor": processor, "End": True})
    assert single(definition, "EXPRESS")[0] == "/States/S/ItemProcessor/ProcessorConfig/Mode"


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("", "Label cannot be empty"),
        ("1234567890" * 4 + "1", "Label cannot exceed 40 characters"),
        ("label_ ", "Label contains invalid character: ' '"),
        ("label_\x00", "Label contains invalid character: '\\x00'"),
        ("label_\\", "Label contains invalid character: '\\\\'"),
        ('label_"', "Label contains invalid character: '\"'"),
        ("label_\u0085", "Label contains invalid character: '\\x85'"),
    ],
)
def test_map_label_recorded(label: str, message: str) -> None:
    assert single(one_state(map_state(Label=label))) == (
        "/States/S/Label",
        message,
        "INVALID_LABEL_NAME",
    )


def test_map_labels_are_unique() -> None:
    first = {**map_state(Label="L"), "End": False, "Next": "B"}
    second = map_state(Label="L", ItemProcessor={"StartAt": "J", "States": {"J": pass_end()}})
    definition = machine({"A": first, "B": second})
    assert single(definition)[2] == "DUPLICATE_LABEL_NAME"


def test_item_reader() -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:putObject",
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "MaxItems": -1},
        "Parameters": {"Bucket.$": "$.bucket"},
        "Extra": True,
    }
    assert found(one_state(map_state(ItemReader=reader))) == [
        ("/States/S/ItemReader", "Field 'Extra' is not supported", SCHEMA),
        (
            "/States/S/ItemReader/Resource",
            "The field 'Resource' does not match any of the allowed values",
            SCHEMA,
        ),
        ("/States/S/ItemReader/ReaderConfig", "These fields are required: [CSVHeaders]", SCHEMA),
        ("/States/S/ItemReader/ReaderConfig/MaxItems", "Minimum value is 0", SCHEMA),
    ]


def test_items_in_jsonata() -> None:
    assert found(one_state(map_state(Items=[1, "{% 2 %}"]), QueryLanguage="JSONata")) == []
    assert single(one_state(map_state(Items={"a": 1}), QueryLanguage="JSONata")) == (
        "/States/S/Items",
        "Expected value of type Array",
        SCHEMA,
    )
