"""The Choice state: its rules, in either query language.

A JSONPath rule names a ``Variable`` and exactly one comparison, or combines rules with
``And``/``Or`` (non-empty arrays) or ``Not`` (one rule)::

    {"Variable": "$.total", "NumericGreaterThan": 100, "Next": "Review"}
    {"And": [{"Variable": "$.a", "IsPresent": true},
             {"Variable": "$.a", "StringEquals": "x"}], "Next": "X"}

A JSONata rule has a ``Condition`` instead (an expression, or a literal boolean)::

    {"Condition": "{% $states.input.total > 100 %}", "Next": "Review"}

Only a top-level rule transitions: it needs ``Next`` and may ``Assign`` (and, in JSONata,
set ``Output``); rules nested in ``And``/``Or``/``Not`` may not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stepfn.definition.validate_context import (
    BAD_TIMESTAMP,
    EMPTY,
    JSONATA,
    JSONPATH,
    Context,
    StateInfo,
    at,
    exactly_one,
    expect,
    expected_type,
    is_jsonata,
    is_timestamp,
    join,
    language_only,
    not_supported,
    only_one,
    required,
)
from stepfn.definition.validate_payload import (
    check_assign,
    check_jsonata,
    check_jsonata_value,
    check_path,
)

# Each comparison operator with the JSON type of its operand. The ``...Path`` form of a
# comparison takes a path to the operand instead.
_COMPARED = {
    "String": ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"),
    "Numeric": ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"),
    "Timestamp": ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"),
    "Boolean": ("Equals",),
}
_OPERAND_KIND = {
    "String": "String",
    "Numeric": "Number",
    "Timestamp": "String",
    "Boolean": "Boolean",
}

OPERATORS: dict[str, str] = {}  # operator -> "String" | "Number" | "Boolean" | "Timestamp" | "Path"
for _family, _relations in _COMPARED.items():
    for _relation in _relations:
        OPERATORS[f"{_family}{_relation}"] = (
            "Timestamp" if _family == "Timestamp" else _OPERAND_KIND[_family]
        )
        OPERATORS[f"{_family}{_relation}Path"] = "Path"
OPERATORS["StringMatches"] = "String"
for _test in ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"):
    OPERATORS[_test] = "Boolean"

_COMBINERS = ("And", "Or", "Not", "Variable")
_JSONPATH_RULE_FIELDS = frozenset({*_COMBINERS, *OPERATORS})
_JSONATA_RULE_FIELDS = frozenset({"Condition", "Output"})
_TOP_ONLY = frozenset({"Next", "Assign", "Output"})


def check_choice_state(ctx: Context, info: StateInfo) -> None:
    """``Choices`` (a non-empty array of rules) and ``Default`` (a state name).

    Whether ``Default`` and the rules' ``Next`` name existing states is a graph check,
    made with every other transition.
    """
    body = info.body
    if "Choices" not in body:
        ctx.report(info.path, required(["Choices"]))
    else:
        choices_path = join(info.path, "Choices")
        choices = body["Choices"]
        if expect(ctx, choices, "Array", choices_path):
            if not choices:
                ctx.report(choices_path, EMPTY)
            for i, rule in enumerate(choices):
                check_rule(ctx, rule, at(choices_path, i), info, top=True)
    if "Default" in body:
        expect(ctx, body["Default"], "String", join(info.path, "Default"))


def check_rule(ctx: Context, rule: Any, path: str, info: StateInfo, *, top: bool) -> None:
    """One Choice rule at ``path``; ``top`` for an element of ``Choices``."""
    if not isinstance(rule, Mapping):
        ctx.report(path, expected_type("Object"))
        return
    for name in rule:
        if name == "Comment" or (top and name in ("Next", "Assign")):
            continue
        if info.jsonata and name in _JSONPATH_RULE_FIELDS:
            ctx.report(path, language_only(JSONATA, name))
        elif not info.jsonata and name in _JSONATA_RULE_FIELDS:
            ctx.report(path, language_only(JSONPATH, name))
        elif name not in _JSONPATH_RULE_FIELDS | _JSONATA_RULE_FIELDS or (
            not top and name in _TOP_ONLY
        ):
            ctx.report(path, not_supported(name))
    if "Comment" in rule:
        expect(ctx, rule["Comment"], "String", join(path, "Comment"))
    if top:
        if "Next" not in rule:
            ctx.report(path, required(["Next"]))
        else:
            expect(ctx, rule["Next"], "String", join(path, "Next"))
        if "Assign" in rule:
            check_assign(ctx, rule["Assign"], join(path, "Assign"), info.jsonata)
    if info.jsonata:
        _check_jsonata_rule(ctx, rule, path, top)
    else:
        _check_jsonpath_rule(ctx, rule, path, info)


def _check_jsonata_rule(ctx: Context, rule: Mapping[str, Any], path: str, top: bool) -> None:
    if "Condition" not in rule:
        ctx.report(path, required(["Condition"]))
    else:
        condition = rule["Condition"]
        here = join(path, "Condition")
        if is_jsonata(condition):
            check_jsonata(ctx, condition, here)
        elif not isinstance(condition, bool):
            ctx.report(
                here, "The field 'Condition' must be a JSONata expression ({% ... %}) or a boolean"
            )
    if top and "Output" in rule:
        check_jsonata_value(ctx, rule["Output"], join(path, "Output"))


def _check_jsonpath_rule(ctx: Context, rule: Mapping[str, Any], path: str, info: StateInfo) -> None:
    combiners = [name for name in _COMBINERS if name in rule]
    operators = [name for name in rule if name in OPERATORS]
    if not combiners:
        ctx.report(path, required(["Variable"]) if operators else exactly_one(_COMBINERS))
        return
    if len(combiners) > 1:
        ctx.report(path, only_one(combiners))
        return
    combiner = combiners[0]
    here = join(path, combiner)
    if combiner == "Variable":
        check_path(ctx, rule["Variable"], here, "Variable")
        if not operators:
            ctx.report(path, exactly_one(OPERATORS))
        elif len(operators) > 1:
            ctx.report(path, only_one(operators))
        else:
            _check_operand(ctx, operators[0], rule[operators[0]], join(path, operators[0]))
        return
    if operators:
        ctx.report(path, not_supported(operators[0]))
    if combiner == "Not":
        check_rule(ctx, rule["Not"], here, info, top=False)
    elif expect(ctx, rule[combiner], "Array", here):
        if not rule[combiner]:
            ctx.report(here, EMPTY)
        for i, nested in enumerate(rule[combiner]):
            check_rule(ctx, nested, at(here, i), info, top=False)


def _check_operand(ctx: Context, operator: str, value: Any, path: str) -> None:
    kind = OPERATORS[operator]
    if kind == "Path":
        check_path(ctx, value, path, operator)
    elif kind == "Timestamp":
        if expect(ctx, value, "String", path) and not is_timestamp(value):
            ctx.report(path, BAD_TIMESTAMP)
    else:
        expect(ctx, value, kind, path)
