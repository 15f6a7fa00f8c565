"""The conformance cases that call Lambda, with real handlers in worker processes.

The same cases as ``test_conformance`` runs with in-process callables, but each function
is a Python file run by a ``FunctionRuntime`` through the ``LambdaFunctions`` adapter, as
the server will run them: results, error documents (``stackTrace`` from a real
traceback), the 256 KiB limit, and the two cases whose handler sleeps 60 s in a Task with
``TimeoutSeconds: 5`` (the deadline kills the worker after 5 real seconds).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from stepfn.clock import VirtualClock
from stepfn.durable.local import run
from stepfn.functions import FunctionConfig, FunctionRuntime
from stepfn.tasks.base import Registry
from stepfn.tasks.lambda_functions import LambdaFunctions

from .cases import Case, cases_dir, execution_name, load_cases, load_expected_failures
from .compare import compare_case

pytestmark = pytest.mark.integration

# Our own handlers with the behaviour of the ones AWS ran (see conformance/README.md).
SOURCES = {
    "lambdas/services/id_function.py": "def handler(event, context):\n    return event\n",
    "lambdas/base/echo_function.py": """
        def handler(event, context):
            return {"Return": "HelloWorld"}
    """,
    "lambdas/services/return_bytes_str.py": """
        def handler(event, context):
            return b'"HelloWorld!"'
    """,
    "lambdas/errorhandling/raise_exception.py": """
        def handler(event, context):
            raise Exception("Some exception was raised.")
    """,
    "lambdas/errorhandling/raise_custom_exception.py": """
        class CustomException(Exception):
            message = "CustomException message"

            def __str__(self):
                return ""


        def handler(event, context):
            raise CustomException()
    """,
    "lambdas/errorhandling/large_output_string.py": """
        def handler(event, context):
            return b"a" * (257 * 1024)
    """,
    "lambdas/timeouts/wait_60_seconds.py": """
        import time


        def handler(event, context):
            time.sleep(60)
            return event
    """,
}

_ROOT = cases_dir()
CASES = [
    case
    for case in (load_cases(_ROOT) if _ROOT is not None else [])
    if "lambda" in case.needs and case.skip_reason() is None
]
EXPECTED_FAILURES = load_expected_failures()
PARAMS = [pytest.param(case, id=case.id) for case in CASES] or [
    pytest.param(None, id="no-cases", marks=pytest.mark.skip(reason="no conformance cases"))
]


@pytest.fixture(scope="module")
def runtime() -> Iterator[FunctionRuntime]:
    rt = FunctionRuntime(pool_size=2, region="us-east-1", account="111111111111")
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A code folder per handler, each holding ``handler.py`` as AWS's did."""
    root = tmp_path_factory.mktemp("conformance-functions")
    folders = {}
    for index, (source, text) in enumerate(SOURCES.items()):
        folder = root / f"fn{index}"
        folder.mkdir()
        (folder / "handler.py").write_text(dedent(text).lstrip())
        folders[source] = folder
    return folders


@pytest.mark.parametrize("case", PARAMS)
def test_lambda_case_with_real_handlers(
    case: Case, runtime: FunctionRuntime, code: dict[str, Path]
) -> None:
    sources: dict[str, str] = case.data.get("lambda_sources") or {}
    configs = {
        name: FunctionConfig(name, "python3.12", "handler.handler", str(code[path]), timeout=90)
        for name, path in sources.items()
    }

    def lookup(name: str, qualifier: str | None) -> FunctionConfig | None:
        return configs.get(name)

    adapter = LambdaFunctions(lookup, runtime, region="us-east-1", account="111111111111")
    data: dict[str, Any] = case.data
    execution = run(
        copy.deepcopy(data["definition"]),
        copy.deepcopy(data.get("input")),
        name=execution_name(case),
        state_machine_type=data.get("state_machine_type") or "STANDARD",
        clock=VirtualClock(),
        registry=Registry([adapter]),
    )
    differences = compare_case(
        data,
        status=execution.status,
        output=execution.output,
        error=execution.error,
        cause=execution.cause,
        history=execution.history,
    )
    expected_failure = EXPECTED_FAILURES.get(case.id)
    if differences and expected_failure is not None:
        pytest.xfail(expected_failure)
    assert not differences, f"{case.id} differs from AWS:\n" + "\n".join(differences)
