"""stepfn: AWS Step Functions, in Python, on your own machines.

The Python API::

    import stepfn
    ex = stepfn.run(definition, input={"order": 1}, functions={"charge": handler})
    ex.status, ex.output, ex.error, ex.cause, ex.history
"""

from __future__ import annotations

from typing import Any, Unpack

from stepfn.clock import Clock, IdSource, VirtualClock
from stepfn.durable.local import Execution, RunOptions
from stepfn.errors import DefinitionError, ExecutionError, Problem
from stepfn.tasks.lambda_functions import FunctionCode, FunctionSpecError

__version__ = "0.1.0"

__all__ = [
    "Clock",
    "DefinitionError",
    "Execution",
    "ExecutionError",
    "FunctionCode",
    "FunctionSpecError",
    "IdSource",
    "Problem",
    "VirtualClock",
    "__version__",
    "run",
    "validate",
]


def run(definition: Any, input: Any = None, **options: Unpack[RunOptions]) -> Execution:
    """Run a state machine to its end, in this process, and return the execution.

    Args:
        definition: the Amazon States Language definition, as a dict or JSON/YAML text.
        input: the execution input (any JSON value); None means ``{}``.
        name: the execution's name (it shows in ``$$.Execution.Name`` and the ARN);
            a UUID when omitted.
        functions: Lambda function name -> ``handler(event, context)``, called in this
            process (the fast path for unit tests), or a ``stepfn.FunctionCode`` (a
            directory or zip of Python or Node code, e.g.
            ``FunctionCode.parse("fn.zip:nodejs20.x")``), run in warm worker processes
            as on Lambda. Tasks whose Resource is a Lambda function ARN, or
            ``arn:aws:states:::lambda:invoke`` with a ``FunctionName``, call them.
        state_machine_type: ``"STANDARD"`` or ``"EXPRESS"``.
        clock: the clock that times Waits, retries and timeouts. By default a virtual
            clock: waits end at once and the history shows simulated times. Pass
            ``stepfn.Clock()`` for real time.
        mock_config: a Step Functions Local mock configuration (``MockConfigFile.json``):
            its path or a loaded ``stepfn.testing.MockConfig``; None with a
            ``test_case`` reads the file ``$SFN_MOCK_CONFIG`` names.
        test_case: the test case to run, ``"StateMachine#TestCase"`` or just the test
            case's name when one state machine of the file has it: the states it names
            get their mocked responses instead of real calls.
        routing: where Tasks calling AWS services or HTTP APIs go: a
            ``stepfn.tasks.routing.Routing``, a dict (``{"routes": [{"resource":
            "arn:aws:states:::sqs:*", "endpoint_url": "http://..."}]}``) or the path of a
            JSON/YAML file holding one. Without it, calls go where
            ``AWS_ENDPOINT_URL[_<SERVICE>]`` says, and Tasks nothing routes fail saying
            how to route them.
        state_machines: the state machines nested executions may start
            (``arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]``):
            ARN (or name) -> definition, or -> ``{"definition": ..., "type": "EXPRESS"}``.
            Each child runs here to its end; its ARN is the one AWS would give it.
        callbacks: a ``stepfn.durable.local_children.LocalTokens``: the other party of
            ``.waitForTaskToken`` tasks and activities (its ``send_task_success``,
            ``send_task_failure``, ``send_task_heartbeat`` and ``get_activity_task``
            are called from any thread, as boto3's are).

    Returns:
        The ``Execution``: ``status``, ``output``, ``error``, ``cause``, ``history``.

    Raises:
        DefinitionError: the definition is not valid; ``problems`` lists every problem.
        stepfn.testing.MockConfigError: the mock configuration or the test case is not
            valid, with every problem and where it is.
        ValueError: the input nests deeper than ``stepfn.lang.nesting.MAX_NESTING_DEPTH``.
        FunctionSpecError: a ``FunctionCode`` that cannot run (missing code or handler).
    """
    from stepfn.durable.local import run as run_local

    return run_local(definition, input, **options)


def validate(definition: Any) -> list[Problem]:
    """Every problem in a definition (dict, JSON or YAML text); empty when it is valid.

    Raises:
        DefinitionError: the text is not JSON/YAML or not an object.
    """
    from stepfn.definition.parse import parse_definition
    from stepfn.definition.validate import validate as validate_definition

    return validate_definition(parse_definition(definition))
