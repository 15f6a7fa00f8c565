"""How a state's output and variables come about, in both query languages.

JSONPath: ``InputPath -> Parameters -> (work) -> ResultSelector -> ResultPath ->
OutputPath``, with ``Assign`` evaluated against the state's result (or its effective
input, for states without one). JSONata: ``Arguments -> (work) -> Assign, Output``, all
reading ``$states`` and the variables as they were when the state was entered (AWS
evaluates every Assign of a state against the values from before the state).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from stepfn import errors
from stepfn.definition.model import (
    ChoiceRuleModel,
    ChoiceState,
    ResultFlowState,
    State,
    TemplateNode,
    compile_template,
)
from stepfn.errors import ExecutionError, StateError
from stepfn.interp.dataflow import Scope, apply_result_path, evaluate_template, read_field
from stepfn.interp.events import to_json_text
from stepfn.lang.jsonata import json_type

if TYPE_CHECKING:
    from stepfn.interp.runstate import Thread
    from stepfn.interp.step_context import StepContext

Outcome = tuple[str | None, Any] | None

_NO_RESULT = object()


class Inspector(Protocol):
    """Watches one state's data flow: what TestState reports as ``inspectionData``.

    A step context has one as its ``inspector`` only when something asked to watch
    (``stepfn.teststate.service``); executions never set it, so each hook below costs
    one attribute lookup. The stage names are AWS's ``inspectionData`` fields.
    """

    def stage(self, name: str, value: Any) -> None:
        """``value`` as it is after the data-flow step ``name`` (``afterInputPath``...)."""


def inspect(interp: StepContext, name: str, value: Any) -> None:
    """Show the inspector, if the interpreter has one, a named stage of the data flow."""
    inspector = interp.inspector
    if inspector is not None:
        inspector.stage(name, value)


def template(node: TemplateNode, data: Any, scope: Scope) -> Any:
    """Evaluate a compiled JSONPath payload template."""
    return evaluate_template(node, data, scope)


def effective_input(
    interp: StepContext,
    thread: Thread,
    state: State,
    raw: Any,
    scope: Scope,
    parameters: bool = True,
) -> Any:
    """InputPath, then (for Pass) Parameters."""
    if state.input_path is not None:
        data = read_field(state.input_path, raw, scope)
    elif state.input_path_null:
        data = {}
    else:
        data = raw
    inspect(interp, "afterInputPath", data)
    if parameters and isinstance(state, ResultFlowState):
        if state.parameters is not None:
            data = evaluate_template(state.parameters, data, scope)
        inspect(interp, "afterParameters", data)
    return data


def output_path(state: State, data: Any, scope: Scope) -> Any:
    """OutputPath: absent keeps everything, null gives ``{}``."""
    if state.output_path is not None:
        return read_field(state.output_path, data, scope)
    if state.output_path_null:
        return {}
    return data


def finish_jsonpath(
    interp: StepContext, thread: Thread, state: State, raw: Any, result: Any, scope: Scope
) -> Outcome:
    """ResultPath, Assign, OutputPath, then leave the state."""
    assert isinstance(state, ResultFlowState)
    inspect(interp, "afterResultSelector", result)
    assigned = assign_jsonpath(interp, thread, state.assign, result, scope)
    combined = apply_result_path(state.result_path, state.result_path_null, raw, result)
    inspect(interp, "afterResultPath", combined)
    output = output_path(state, combined, scope)
    commit_assign(interp, thread, assigned)
    return interp.exit_state(thread, state, output, assigned)


def finish_simple(
    interp: StepContext, thread: Thread, state: State, effective: Any, scope: Scope
) -> Outcome:
    """Leave a state without a result (Wait, Succeed): Assign, then OutputPath."""
    assigned = assign_jsonpath(interp, thread, state.assign, effective, scope)
    output = output_path(state, effective, scope)
    commit_assign(interp, thread, assigned)
    return interp.exit_state(thread, state, output, assigned)


def assign_jsonpath(
    interp: StepContext,
    thread: Thread,
    assign: Mapping[str, Any] | None,
    source: Any,
    scope: Scope,
) -> dict[str, Any] | None:
    """Evaluate a JSONPath-mode Assign against ``source``; nothing is stored yet."""
    if not assign:
        return None
    node = interp.compiled_template(assign)
    value = evaluate_template(node, source, scope)
    assert isinstance(value, dict)
    return value


MAX_VARIABLE_BYTES = 256 * 1024
MAX_VARIABLES_BYTES = 10 * 1024 * 1024


def commit_assign(interp: StepContext, thread: Thread, assigned: dict[str, Any] | None) -> None:
    """Store assigned variables in the thread's scope, once the whole state succeeded.

    AWS limits one variable to 256 KiB and all of an execution's to 10 MiB
    (``States.DataLimitExceeded``). The total here counts the variables the thread can
    see (its own and its ancestors'), which is what one path of control can hold.
    """
    if not assigned:
        return
    for name, value in assigned.items():
        if _size(value) > MAX_VARIABLE_BYTES:
            raise ExecutionError(
                errors.DATA_LIMIT_EXCEEDED,
                f"The variable '{name}' assigned in the state '{thread.state}' exceeds the "
                f"maximum size of {MAX_VARIABLE_BYTES} bytes.",
            )
    thread.variables.update(assigned)
    visible = interp.variables(thread)
    # Every variable came through the check above (TestState's given ones are within
    # its request's size limit), so the total cannot pass the limit while there are
    # few enough of them: then nothing is encoded again.
    if len(visible) * MAX_VARIABLE_BYTES <= MAX_VARIABLES_BYTES:
        return
    if sum(_size(v) for v in visible.values()) > MAX_VARIABLES_BYTES:
        raise ExecutionError(
            errors.DATA_LIMIT_EXCEEDED,
            f"The variables of the execution exceed the maximum total size of "
            f"{MAX_VARIABLES_BYTES} bytes (state '{thread.state}').",
        )


def _size(value: Any) -> int:
    if isinstance(value, bool | int | float) or value is None:
        return 8  # small scalars: not worth encoding
    text = to_json_text(value)
    return len(text) if text.isascii() else len(text.encode())


# --- JSONata ---------------------------------------------------------------------------------


def jsonata_bindings(
    interp: StepContext,
    thread: Thread,
    raw: Any,
    *,
    result: Any = _NO_RESULT,
    error_output: Any = _NO_RESULT,
    task_token: str | None = None,
    map_item: tuple[int, Any] | None = None,
) -> dict[str, Any]:
    """``$states`` and the variables, as JSONata expressions of the state see them."""
    states: dict[str, Any] = {"input": raw}
    if task_token is not None or map_item is not None or _reads_context(interp, thread):
        states["context"] = interp.context_object(thread, task_token, map_item)
    if result is not _NO_RESULT:
        states["result"] = result
    if error_output is not _NO_RESULT:
        states["errorOutput"] = error_output
    bindings = dict(interp.variables(thread))
    bindings["states"] = states
    return bindings


def _reads_context(interp: StepContext, thread: Thread) -> bool:
    """Whether the thread's current state may read ``$states.context`` (see the model)."""
    return interp.state_of(thread).reads_context


def jsonata_value(interp: StepContext, value: Any, bindings: Mapping[str, Any], field: str) -> Any:
    """Evaluate a JSONata-mode field: ``{% %}`` strings anywhere inside ``value``."""
    from stepfn.lang.jsonata import evaluate_template as evaluate

    return evaluate(value, bindings, now=interp.now, ids=interp.ids, field=field)


def assign_jsonata(
    interp: StepContext,
    thread: Thread,
    assign: Mapping[str, Any] | None,
    bindings: Mapping[str, Any],
    field: str = "Assign",
) -> dict[str, Any] | None:
    """Evaluate a JSONata-mode Assign; nothing is stored yet."""
    if not assign:
        return None
    value = jsonata_value(interp, assign, bindings, field)
    assert isinstance(value, dict)
    return value


def finish_jsonata(
    interp: StepContext,
    thread: Thread,
    state: State,
    raw: Any,
    *,
    result: Any,
    has_result: bool,
) -> Outcome:
    """Assign and Output of a JSONata state, then leave it."""
    if has_result:
        bindings = jsonata_bindings(interp, thread, raw, result=result)
    else:
        bindings = jsonata_bindings(interp, thread, raw)
    assigned = assign_jsonata(interp, thread, state.assign, bindings)
    if state.has_output:
        output = jsonata_value(interp, state.output, bindings, "Output")
    else:
        output = result if has_result else raw
    commit_assign(interp, thread, assigned)
    return interp.exit_state(thread, state, output, assigned)


def jsonata_number(
    interp: StepContext, value: Any, bindings: Mapping[str, Any], field: str, expected: str
) -> float | None:
    """A JSONata-mode field that must give a number (None when not set); ``expected``
    is the type AWS names when it does not (``number``, ``integer``)."""
    if value is None:
        return None
    result = jsonata_value(interp, value, bindings, field)
    if isinstance(result, bool) or not isinstance(result, int | float):
        raise StateError(
            errors.QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{expression_text(value)}' specified for the field "
            f"'{field}' returned an unexpected result type. Expected '{expected}', but was "
            f"'{json_type(result)}' for value: {to_json_text(result)}",
        )
    return result


def expression_text(value: Any) -> str:
    """The expression inside ``{% ... %}``, for error messages."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{%") and text.endswith("%}"):
            return text[2:-2].strip()
        return text
    return str(value)


# --- Choice exits ------------------------------------------------------------------------------


def choice_exit(
    interp: StepContext,
    thread: Thread,
    state: ChoiceState,
    raw: Any,
    rule: ChoiceRuleModel | None,
    bindings: Mapping[str, Any],
    index: int | None,
) -> Outcome:
    """Leave a JSONata Choice by rule ``index`` (or Default when ``rule`` is None).

    A rule's own Assign and Output are named in errors under the rule, as AWS names
    them: ``Choices[1]/Output/v``.
    """
    prefix = f"Choices[{index}]/" if rule is not None else ""
    if rule is not None and rule.assign is not None:
        assigned = assign_jsonata(interp, thread, rule.assign, bindings, prefix + "Assign")
    else:
        assigned = assign_jsonata(interp, thread, state.assign, bindings)
    if rule is not None and rule.has_output:
        output = jsonata_value(interp, rule.output, bindings, prefix + "Output")
    elif state.has_output:
        output = jsonata_value(interp, state.output, bindings, "Output")
    else:
        output = raw
    commit_assign(interp, thread, assigned)
    target = rule.next if rule is not None else state.default
    return interp.exit_state(thread, state, output, assigned, next_state=target)


def choice_exit_jsonpath(
    interp: StepContext,
    thread: Thread,
    state: ChoiceState,
    raw: Any,
    effective: Any,
    rule: ChoiceRuleModel | None,
    scope: Scope,
) -> Outcome:
    """Leave a JSONPath Choice by a rule (or Default when ``rule`` is None)."""
    assign = rule.assign if rule is not None and rule.assign is not None else state.assign
    assigned = assign_jsonpath(interp, thread, assign, effective, scope)
    output = output_path(state, effective, scope)
    commit_assign(interp, thread, assigned)
    target = rule.next if rule is not None else state.default
    return interp.exit_state(thread, state, output, assigned, next_state=target)


def compiled(value: Mapping[str, Any]) -> TemplateNode:
    """Compile an Assign block as a payload template."""
    return compile_template(value)
