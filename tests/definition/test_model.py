"""The model: what ``build`` makes of a definition, and compiled payload templates."""

from __future__ import annotations

from stepfn.definition.model import (
    ArrayTemplate,
    Const,
    Intrinsic,
    MapState,
    ObjectTemplate,
    ParallelState,
    PassState,
    PathRef,
    TaskState,
    build,
    compile_template,
)


def test_constant_templates_stay_constant() -> None:
    value = {"a": [1, {"b": "c"}], "d": None}
    node = compile_template(value)
    assert isinstance(node, Const) and node.value is value


def test_dynamic_entries_compile_to_paths_and_intrinsics() -> None:
    node = compile_template(
        {"id.$": "$.order.id", "n": 1, "list": [{"x.$": "States.Format('{}', $.a)"}]}
    )
    assert isinstance(node, ObjectTemplate)
    entries = dict(node.entries)
    assert isinstance(entries["id"], PathRef) and entries["id"].path.text == "$.order.id"
    assert isinstance(entries["n"], Const)
    inner = entries["list"]
    assert isinstance(inner, ArrayTemplate)
    item = inner.items[0]
    assert isinstance(item, ObjectTemplate)
    assert isinstance(dict(item.entries)["x"], Intrinsic)


def test_build_models_every_state_with_its_query_language() -> None:
    machine = build(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {
                "P": {"Type": "Pass", "Output": "{% $states.input %}", "Next": "T"},
                "T": {
                    "Type": "Task",
                    "QueryLanguage": "JSONPath",
                    "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                    "ResultPath": "$.r",
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
                    "Next": "M",
                },
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                    "Next": "Par",
                },
                "Par": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}],
                    "End": True,
                },
            },
        }
    )
    p, t, m, par = (machine.states[n] for n in ("P", "T", "M", "Par"))
    assert isinstance(p, PassState) and p.jsonata and p.has_output
    assert isinstance(t, TaskState) and not t.jsonata
    assert t.result_path is not None and t.result_path.text == "$.r"
    assert t.retry[0].max_attempts == 0
    assert isinstance(m, MapState) and m.processor is not None
    assert m.processor.query_language == "JSONata"
    assert isinstance(par, ParallelState) and len(par.branches) == 1
