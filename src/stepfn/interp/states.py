"""What each simple state does: Pass, Task, Choice, Wait, Succeed, Fail.

Each ``run_*`` function is called when a thread enters the state and returns
``(next state, its input)``, or None when the state blocked (a task, a timer) or ended
the thread. Map and Parallel live in ``fanout``. JSONPath and JSONata data flow both go
through ``flow``, so the per-state code only says what is particular to the state.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stepfn import errors
from stepfn.definition.model import (
    Catcher,
    ChoiceState,
    FailState,
    PassState,
    State,
    SucceedState,
    TaskState,
    WaitState,
    compile_template,
)
from stepfn.errors import ExecutionError, StateError
from stepfn.interp import flow, task_parameters
from stepfn.interp.dataflow import Scope, read, read_field
from stepfn.interp.events import to_json_text
from stepfn.lang.jsonata import json_type
from stepfn.lang.jsonpath import JsonPath, PathNotFound

if TYPE_CHECKING:
    from stepfn.interp.runstate import Thread
    from stepfn.interp.step_context import StepContext

Outcome = tuple[str | None, Any] | None

MAX_PAYLOAD_BYTES = 256 * 1024


# --- Pass ------------------------------------------------------------------------------------


def run_pass(interp: StepContext, thread: Thread, state: PassState) -> Outcome:
    """Pass: its input, or its Result, to its output."""
    raw = thread.state_input
    if state.jsonata:
        return flow.finish_jsonata(interp, thread, state, raw, result=None, has_result=False)
    scope = interp.scope(thread)
    effective = flow.effective_input(interp, thread, state, raw, scope)
    if state.has_result:
        result = state.result
        if state.result_bytes > MAX_PAYLOAD_BYTES:
            raise result_too_large(state)
    else:
        result = effective
    return flow.finish_jsonpath(interp, thread, state, raw, result, scope)


def check_result_size(state: State, result: Any) -> None:
    """States.DataLimitExceeded for a result over 256 KiB, with AWS's cause text."""
    if len(to_json_text(result).encode()) > MAX_PAYLOAD_BYTES:
        raise result_too_large(state)


def result_too_large(state: State) -> ExecutionError:
    """States.DataLimitExceeded for ``state``'s result, with AWS's cause text."""
    return ExecutionError(
        errors.DATA_LIMIT_EXCEEDED,
        f"The state/task '{state.name}' returned a result with a size exceeding "
        "the maximum number of bytes service limit.",
    )


# --- Task ------------------------------------------------------------------------------------


def run_task(interp: StepContext, thread: Thread, state: TaskState) -> Outcome:
    """Task: evaluate the payload and ask the driver to invoke the resource."""
    return invoke_task(interp, thread, state)


def invoke_task(interp: StepContext, thread: Thread, state: TaskState) -> Outcome:
    """Schedule the task (again, on a retry)."""
    from stepfn.interp.machine import InvokeTask

    raw = thread.state_input
    token = interp.ids.uuid()
    if state.jsonata:
        bindings = flow.jsonata_bindings(interp, thread, raw, task_token=token)
        payload = (
            flow.jsonata_value(interp, state.arguments, bindings, "Arguments")
            if state.has_arguments
            else raw
        )
        timeout = _jsonata_seconds(interp, state.timeout_seconds, bindings, "TimeoutSeconds")
        heartbeat = _jsonata_seconds(interp, state.heartbeat_seconds, bindings, "HeartbeatSeconds")
        credentials = (
            flow.jsonata_value(interp, state.credentials, bindings, "Credentials")
            if state.credentials is not None
            else None
        )
    else:
        scope = interp.scope(thread, task_token=token)
        effective = flow.effective_input(interp, thread, state, raw, scope, parameters=False)
        payload = (
            flow.template(state.parameters, effective, scope)
            if state.parameters is not None
            else effective
        )
        timeout = _path_seconds(state.timeout_seconds, state.timeout_seconds_path, raw, scope)
        heartbeat = _path_seconds(state.heartbeat_seconds, state.heartbeat_seconds_path, raw, scope)
        credentials = (
            flow.template(compile_template(state.credentials), effective, scope)
            if state.credentials is not None
            else None
        )
    role_arn = task_parameters.role_arn(credentials)
    flow.inspect(interp, "afterArguments" if state.jsonata else "afterParameters", payload)
    task_parameters.check(state.resource, payload)
    thread.token = token
    interp.run.tokens[token] = thread.id
    task_scheduled_events(interp, thread, state, payload, timeout, heartbeat, role_arn)
    interp.command(
        InvokeTask(
            token,
            state.resource,
            payload,
            state.name,
            timeout,
            heartbeat,
            thread.retry_count,
            role_arn,
        )
    )
    if timeout:
        interp.new_timer(thread, interp.now + timeout, "task-timeout")
    if heartbeat:
        interp.new_timer(thread, interp.now + heartbeat, "heartbeat")
    return None


def _path_seconds(value: Any, path: JsonPath | None, data: Any, scope: Scope) -> float | None:
    if path is not None:
        seconds = read_field(path, data, scope)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            raise StateError(
                errors.RUNTIME,
                f"The value of the field '{path.text}' must be a positive integer: {seconds}",
            )
        return float(seconds)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _jsonata_seconds(
    interp: StepContext, value: Any, bindings: dict[str, Any], field: str
) -> float | None:
    seconds = flow.jsonata_number(interp, value, bindings, field, "integer")
    return None if seconds is None else float(seconds)


def resource_kind(resource: str) -> tuple[str, str, str] | None:
    """``(family, resourceType, resource)`` of a Task's Resource for its events:
    ``lambda`` for a Lambda function ARN, ``activity``, or ``task`` for service
    integrations (``arn:aws:states:::lambda:invoke`` -> ("task", "lambda", "invoke"))."""
    if resource.startswith(("arn:aws:lambda:", "arn:aws-")) and ":function:" in resource:
        return ("lambda", "lambda", resource)
    parts = resource.split(":", 6)
    if len(parts) >= 6 and parts[2] == "states" and parts[5].startswith("activity"):
        return ("activity", "activity", resource)
    if resource.startswith("arn:") and len(parts) == 7 and parts[2] == "states":
        service_action = parts[6]
        service, _, action = service_action.rpartition(":")
        if not service:
            service, action = service_action, ""
        if parts[5] == "aws-sdk":
            service = "aws-sdk:" + service
        elif parts[5]:
            service, action = parts[5], service_action
        return ("task", service, action)
    return ("task", "unknown", resource)


def task_scheduled_events(
    interp: StepContext,
    thread: Thread,
    state: TaskState,
    payload: Any,
    timeout: float | None,
    heartbeat: float | None,
    role_arn: str | None = None,
) -> None:
    """The Scheduled and Started events of a task, as AWS names them per resource
    (``role_arn``: the role its ``Credentials`` name, in ``taskCredentials``)."""
    family, rtype, rname = resource_kind(state.resource) or ("task", "unknown", state.resource)
    if family == "lambda":
        details: dict[str, Any] = {"resource": state.resource, "input": payload}
        if timeout:
            details["timeoutInSeconds"] = int(timeout)
        interp.emit(thread, "LambdaFunctionScheduled", details)
        interp.emit(thread, "LambdaFunctionStarted")
        return
    if family == "activity":
        details = {"resource": state.resource, "input": payload}
        if timeout:
            details["timeoutInSeconds"] = int(timeout)
        if heartbeat:
            details["heartbeatInSeconds"] = int(heartbeat)
        interp.emit(thread, "ActivityScheduled", details)
        return
    details = {
        "resourceType": rtype,
        "resource": rname,
        "region": interp.info.region,
        "parameters": payload,
    }
    if timeout:
        details["timeoutInSeconds"] = int(timeout)
    if heartbeat:
        details["heartbeatInSeconds"] = int(heartbeat)
    if role_arn is not None:
        details["taskCredentials"] = {"roleArn": role_arn}
    interp.emit(thread, "TaskScheduled", details)
    interp.emit(thread, "TaskStarted", {"resourceType": rtype, "resource": rname})


def task_result(interp: StepContext, thread: Thread, state: TaskState, output: Any) -> Outcome:
    """The task succeeded: record it, then ResultSelector, ResultPath, OutputPath."""
    family, rtype, rname = resource_kind(state.resource) or ("task", "", "")
    if family == "lambda":
        interp.emit(thread, "LambdaFunctionSucceeded", {"output": output})
    elif family == "activity":
        interp.emit(thread, "ActivitySucceeded", {"output": output})
    else:
        interp.emit(
            thread,
            "TaskSucceeded",
            {"resourceType": rtype, "resource": rname, "output": output},
        )
    check_result_size(state, output)
    raw = thread.state_input
    if state.jsonata:
        return flow.finish_jsonata(interp, thread, state, raw, result=output, has_result=True)
    scope = interp.scope(thread)
    if state.result_selector is not None:
        output = flow.template(state.result_selector, output, scope)
    return flow.finish_jsonpath(interp, thread, state, raw, output, scope)


def task_submitted_event(
    interp: StepContext, thread: Thread, state: TaskState, output: Any
) -> None:
    """Record that a service integration's task was submitted and goes on (TaskSubmitted,
    with what the call returned): a ``.sync`` job or a ``.waitForTaskToken`` message."""
    _family, rtype, rname = resource_kind(state.resource) or ("task", "", "")
    interp.emit(
        thread, "TaskSubmitted", {"resourceType": rtype, "resource": rname, "output": output}
    )


def task_failure_event(
    interp: StepContext, thread: Thread, state: TaskState, error: str | None, cause: str | None
) -> None:
    """Record a task's failure in AWS's event type for its resource."""
    family, rtype, rname = resource_kind(state.resource) or ("task", "", "")
    details: dict[str, Any] = {}
    if family == "task":
        details = {"resourceType": rtype, "resource": rname}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    kind = {"lambda": "LambdaFunctionFailed", "activity": "ActivityFailed"}.get(
        family, "TaskFailed"
    )
    interp.emit(thread, kind, details)


def task_timed_out_event(interp: StepContext, thread: Thread, state: TaskState) -> None:
    """Record a task's timeout."""
    family, rtype, rname = resource_kind(state.resource) or ("task", "", "")
    details: dict[str, Any] = {"error": errors.TIMEOUT}
    if family == "task":
        details = {"resourceType": rtype, "resource": rname, "error": errors.TIMEOUT}
    kind = {"lambda": "LambdaFunctionTimedOut", "activity": "ActivityTimedOut"}.get(
        family, "TaskTimedOut"
    )
    interp.emit(thread, kind, details)


def heartbeat_of(interp: StepContext, thread: Thread) -> float | None:
    """The heartbeat interval of the thread's running task, if it has one."""
    state = interp.state_of(thread)
    if not isinstance(state, TaskState):
        return None
    if isinstance(state.heartbeat_seconds, int | float) and not state.jsonata:
        return float(state.heartbeat_seconds)
    if state.heartbeat_seconds is None and state.heartbeat_seconds_path is None:
        return None
    # HeartbeatSecondsPath or a JSONata expression: evaluated again on the state's input,
    # which gives what it gave when the task was scheduled (it succeeded then).
    raw = thread.state_input
    try:
        if state.jsonata:
            bindings = flow.jsonata_bindings(interp, thread, raw, task_token=thread.token)
            return _jsonata_seconds(interp, state.heartbeat_seconds, bindings, "HeartbeatSeconds")
        scope = interp.scope(thread, task_token=thread.token)
        return _path_seconds(None, state.heartbeat_seconds_path, raw, scope)
    except (StateError, ExecutionError):
        return None


def retry_state(interp: StepContext, thread: Thread, state: State) -> Outcome:
    """A retry's backoff is over: run the state again, without a new Entered event."""
    from stepfn.interp import fanout

    if isinstance(state, TaskState):
        return invoke_task(interp, thread, state)
    return fanout.restart(interp, thread, state)


# --- Choice ----------------------------------------------------------------------------------


def run_choice(interp: StepContext, thread: Thread, state: ChoiceState) -> Outcome:
    """Choice: the first matching rule's Next, else Default, else States.NoChoiceMatched."""
    raw = thread.state_input
    if state.jsonata:
        bindings = flow.jsonata_bindings(interp, thread, raw)
        for index, rule in enumerate(state.choices):
            field = f"Choices[{index}]/Condition"
            matched = flow.jsonata_value(interp, rule.rule, bindings, field)
            if not isinstance(matched, bool):
                raise StateError(
                    errors.QUERY_EVALUATION_ERROR,
                    f"The JSONata expression '{flow.expression_text(rule.rule)}' specified "
                    f"for the field 'Condition' returned an unexpected result type. Expected "
                    f"'boolean', but was '{json_type(matched)}' for value: "
                    f"{to_json_text(matched)}",
                )
            if matched:
                return flow.choice_exit(interp, thread, state, raw, rule, bindings, index)
        if state.default is None:
            raise ExecutionError(errors.NO_CHOICE_MATCHED, no_choice_cause(state))
        return flow.choice_exit(interp, thread, state, raw, None, bindings, None)
    scope = interp.scope(thread)
    effective = flow.effective_input(interp, thread, state, raw, scope, parameters=False)
    variables = scope.variables
    for rule in state.choices:
        if interp.choice_rule(rule).matches(effective, scope.get_context, variables):
            return flow.choice_exit_jsonpath(interp, thread, state, raw, effective, rule, scope)
    if state.default is None:
        raise ExecutionError(errors.NO_CHOICE_MATCHED, no_choice_cause(state))
    return flow.choice_exit_jsonpath(interp, thread, state, raw, effective, None, scope)


def no_choice_cause(state: ChoiceState) -> str:
    """The cause when no rule matched and there is no Default."""
    return f"No choice rule of the state '{state.name}' matched its input, and it has no Default."


# --- Wait ------------------------------------------------------------------------------------


def run_wait(interp: StepContext, thread: Thread, state: WaitState) -> Outcome:
    """Wait: start a timer for the duration or the timestamp."""
    raw = thread.state_input
    due = wait_due(interp, thread, state, raw)
    if due <= interp.now:
        return wait_done(interp, thread, state)
    interp.new_timer(thread, due, "wait")
    return None


def wait_due(interp: StepContext, thread: Thread, state: WaitState, raw: Any) -> float:
    """When the Wait state ends, from whichever of its four fields it has."""
    if state.jsonata:
        bindings = flow.jsonata_bindings(interp, thread, raw)
        if state.seconds is not None:
            seconds = flow.jsonata_value(interp, state.seconds, bindings, "Seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise StateError(
                    errors.QUERY_EVALUATION_ERROR,
                    f"The JSONata expression '{flow.expression_text(state.seconds)}' specified "
                    "for the field 'Seconds' returned an unexpected result type. Expected "
                    f"'integer', but was '{json_type(seconds)}' for value: "
                    f"{to_json_text(seconds)}",
                )
            return interp.now + float(seconds)
        stamp = flow.jsonata_value(interp, state.timestamp, bindings, "Timestamp")
        parsed = parse_timestamp(stamp)
        if parsed is None:
            raise StateError(
                errors.QUERY_EVALUATION_ERROR,
                "The Timestamp field cannot be parsed as an ISO-8601 extended offset "
                f"date-time format string: {stamp}",
            )
        return parsed
    scope = interp.scope(thread)
    effective = flow.effective_input(interp, thread, state, raw, scope, parameters=False)
    if state.seconds is not None:
        return interp.now + float(state.seconds)
    if state.timestamp is not None:
        parsed = parse_timestamp(state.timestamp)
        return interp.now if parsed is None else parsed
    if state.seconds_path is not None:
        path = state.seconds_path
        seconds = _path_value(path, effective, scope, "SecondsPath")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise StateError(
                errors.RUNTIME,
                f"The SecondsPath parameter does not reference an input value: {path.text}",
            )
        if isinstance(seconds, float) and not seconds.is_integer():
            raise StateError(
                errors.RUNTIME,
                "The SecondsPath parameter cannot be parsed as a long value: "
                f"{path.text} == {seconds}",
            )
        if seconds < 0:
            raise StateError(
                errors.RUNTIME,
                f"The SecondsPath parameter references a negative value: {path.text} == {seconds}",
            )
        return interp.now + float(seconds)
    assert state.timestamp_path is not None
    path = state.timestamp_path
    stamp = _path_value(path, effective, scope, "TimestampPath")
    parsed = parse_timestamp(stamp)
    if parsed is None:
        raise StateError(
            errors.RUNTIME,
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: {path.text} == {stamp}",
        )
    return parsed


def parse_timestamp(value: Any) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp with a zone (``Z`` or offset)
    and an upper-case ``T``, as AWS requires; None when it is not one."""
    if not isinstance(value, str) or len(value) < 20 or value[10] != "T":
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    if text[-6] not in "+-" or text[-3] != ":":
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def wait_done(interp: StepContext, thread: Thread, state: State) -> Outcome:
    """The wait is over: the state's output flows on."""
    assert isinstance(state, WaitState)
    return _flow_on(interp, thread, state)


def _path_value(path: JsonPath, effective: Any, scope: Scope, field: str) -> Any:
    """What a Wait's ``SecondsPath`` or ``TimestampPath`` (``field``) reads."""
    try:
        return read(path, effective, scope)
    except PathNotFound:
        raise StateError(
            errors.RUNTIME,
            f"The {field} parameter does not reference an input value: {path.text}",
        ) from None


# --- Succeed and Fail ------------------------------------------------------------------------


def run_succeed(interp: StepContext, thread: Thread, state: SucceedState) -> Outcome:
    """Succeed: end the thread with the state's output."""
    return _flow_on(interp, thread, state)


def _flow_on(interp: StepContext, thread: Thread, state: State) -> Outcome:
    """The state's input, through its InputPath and OutputPath (or its JSONata Output),
    is its output: a Wait that is over, a Succeed."""
    raw = thread.state_input
    if state.jsonata:
        return flow.finish_jsonata(interp, thread, state, raw, result=None, has_result=False)
    scope = interp.scope(thread)
    effective = flow.effective_input(interp, thread, state, raw, scope, parameters=False)
    return flow.finish_simple(interp, thread, state, effective, scope)


def run_fail(interp: StepContext, thread: Thread, state: FailState) -> Outcome:
    """Fail: end the thread with an error and a cause."""
    raw = thread.state_input
    if state.jsonata:
        bindings = flow.jsonata_bindings(interp, thread, raw)
        error = flow.jsonata_value(interp, state.error, bindings, "Error") if state.error else None
        cause = flow.jsonata_value(interp, state.cause, bindings, "Cause") if state.cause else None
    else:
        scope = interp.scope(thread)
        error = _fail_text(state.error, state.error_path, "ErrorPath", raw, scope)
        cause = _fail_text(state.cause, state.cause_path, "CausePath", raw, scope)
    interp.fail_thread(thread, error, cause)
    return None


def _fail_text(value: Any, path: Any, field: str, data: Any, scope: Scope) -> str | None:
    from stepfn.interp.dataflow import evaluate_intrinsic, not_found_in_input

    if path is None:
        return value if isinstance(value, str) else None
    if isinstance(path, JsonPath):
        try:
            result = read(path, data, scope)
        except PathNotFound:
            raise not_found_in_input(path.text, field, data) from None
    else:
        result = evaluate_intrinsic(path, data, scope, field)
    return result if isinstance(result, str) else json.dumps(result)


def catch_output(
    interp: StepContext, thread: Thread, state: State, catcher: Catcher, error_output: Any
) -> tuple[Any, dict[str, Any] | None]:
    """The output a catcher passes on, and the variables it assigns."""
    raw = thread.state_input
    if state.jsonata:
        bindings = flow.jsonata_bindings(interp, thread, raw, error_output=error_output)
        assigned = flow.assign_jsonata(interp, thread, catcher.assign, bindings, "Assign")
        output = (
            flow.jsonata_value(interp, catcher.output, bindings, "Output")
            if catcher.output is not None
            else error_output
        )
        flow.commit_assign(interp, thread, assigned)
        return output, assigned
    scope = interp.scope(thread)
    assigned = flow.assign_jsonpath(interp, thread, catcher.assign, error_output, scope)
    if not catcher.result_path_set:
        output = error_output
    elif catcher.result_path is None:
        output = raw
    else:
        from stepfn.interp.dataflow import apply_result_path

        output = apply_result_path(catcher.result_path, False, raw, error_output)
    flow.commit_assign(interp, thread, assigned)
    return output, assigned
