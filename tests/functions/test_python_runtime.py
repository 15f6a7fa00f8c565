"""Python handlers in warm worker processes: results, context, env, errors, logs, limits."""

from __future__ import annotations

import gc
import json
import os
import threading
import time
import weakref
from pathlib import Path

import pytest
from function_support import WAIT, call, write_tree

from stepfn.functions import FunctionConfig, FunctionRuntime, InvocationResult

pytestmark = pytest.mark.integration

HANDLERS = {
    "app.py": """
        import json, os, sys, time

        print("init output")

        def echo(event, context):
            return event

        def inspect(event, context):
            names = ["function_name", "function_version", "invoked_function_arn",
                     "memory_limit_in_mb", "aws_request_id", "log_group_name",
                     "log_stream_name"]
            fields = {name: getattr(context, name) for name in names}
            fields["remaining"] = context.get_remaining_time_in_millis()
            keys = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "AWS_DEFAULT_REGION",
                    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
                    "LAMBDA_TASK_ROOT", "_HANDLER", "AWS_EXECUTION_ENV", "GREETING"]
            return {"context": fields, "env": {k: os.environ.get(k) for k in keys},
                    "cwd": os.getcwd(), "pid": os.getpid()}

        class PaymentDeclined(Exception):
            pass

        def throw(event, context):
            raise PaymentDeclined("card refused")

        def hang(event, context):
            time.sleep(600)

        def die(event, context):
            sys.stdout.flush()
            os._exit(1)

        import logging

        def chatty(event, context):
            logging.getLogger("app").warning("careful %s", event["n"])
            print("to stdout", event["n"])
            print("to stderr", file=sys.stderr)
            return "ok"

        def unserialisable(event, context):
            return {"when": {1, 2}}

        def huge(event, context):
            return "a" * 6291556

        def pid(event, context):
            if event.get("hang"):
                time.sleep(600)
            if event.get("die"):
                os._exit(1)
            return os.getpid()

        def rendezvous(event, context):
            # Every caller checks in, then waits for all: only concurrent workers finish.
            folder = event["folder"]
            open(os.path.join(folder, str(os.getpid())), "w").close()
            while len(os.listdir(folder)) < event["expect"]:
                time.sleep(0.01)
            return os.getpid()

        def wait_for_file(event, context):
            while not os.path.exists(event["path"]):
                time.sleep(0.01)
            return "released"
    """,
    "broken.py": "import no_such_module_here\n",
    "pkg/__init__.py": "",
    "pkg/inner.py": "def handler(event, context):\n    return 'inner'\n",
}


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "code", HANDLERS)


def fn(code: Path, handler: str, **kwargs: object) -> FunctionConfig:
    return FunctionConfig("pyfn", "python3.12", handler, str(code), **kwargs)  # type: ignore[arg-type]


def body(result: InvocationResult) -> object:
    return json.loads(result.payload)


def test_result_is_the_handlers_json(runtime: FunctionRuntime, code: Path) -> None:
    result = call(runtime, fn(code, "app.echo"), b'{"n": [1, "\xc3\xa9"]}')
    assert result.succeeded and result.function_error is None
    assert body(result) == {"n": [1, "é"]}
    assert result.executed_version == "$LATEST"
    assert call(runtime, fn(code, "pkg/inner.handler")).payload == b'"inner"'


def test_null_or_empty_payload_is_sent_as_an_empty_object(
    runtime: FunctionRuntime, code: Path
) -> None:
    config = fn(code, "app.echo")
    assert call(runtime, config, b"null").payload == b"{}"
    assert call(runtime, config, b"").payload == b"{}"


def test_context_and_environment(runtime: FunctionRuntime, code: Path) -> None:
    config = fn(code, "app.inspect", environment={"GREETING": "hi"}, memory_size=256, timeout=7)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:pyfn:live"
    result = call(runtime, config, invoked_arn=arn, request_id="req-7")
    seen = body(result)
    assert isinstance(seen, dict)
    context, env = seen["context"], seen["env"]
    stream = context["log_stream_name"]
    assert context == {
        "function_name": "pyfn",
        "function_version": "$LATEST",
        "invoked_function_arn": arn,
        "memory_limit_in_mb": "256",
        "aws_request_id": "req-7",
        "log_group_name": "/aws/lambda/pyfn",
        "log_stream_name": stream,
        "remaining": context["remaining"],
    }
    assert 0 < context["remaining"] <= 7000
    assert "/[$LATEST]" in stream and result.log_stream == stream
    assert env == {
        "AWS_LAMBDA_FUNCTION_NAME": "pyfn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/pyfn",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "LAMBDA_TASK_ROOT": str(code.resolve()),
        "_HANDLER": "app.inspect",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "GREETING": "hi",
    }
    assert seen["cwd"] == str(code.resolve())
    assert seen["pid"] != os.getpid()


def test_a_thrown_error_is_pythons_error_document(runtime: FunctionRuntime, code: Path) -> None:
    result = call(runtime, fn(code, "app.throw"), request_id="req-err")
    assert result.function_error == "Unhandled" and result.error_type == "PaymentDeclined"
    document = body(result)
    assert isinstance(document, dict)
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorMessage"] == "card refused"
    assert document["requestId"] == "req-err"
    trace = document["stackTrace"]
    assert isinstance(trace, list) and all(isinstance(line, str) for line in trace)
    assert 'app.py", line' in trace[-1] and "raise PaymentDeclined" in trace[-1]
    assert not any("python_bootstrap" in line for line in trace)
    # The worker is still warm and serves the next call.
    assert call(runtime, fn(code, "app.echo"), b"[1]").payload == b"[1]"


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_handler_past_its_timeout_is_killed_and_replaced(
    runtime: FunctionRuntime, code: Path
) -> None:
    config = fn(code, "app.pid", timeout=1)
    warm = body(call(runtime, config))
    assert isinstance(warm, int) and runtime.workers(config) == [warm]
    result = call(runtime, config, b'{"hang": true}', request_id="req-slow")
    assert result.function_error == "Unhandled" and result.error_type == "Sandbox.Timedout"
    assert body(result) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: req-slow Error: Task timed out after 1.00 seconds",
    }
    assert "Task timed out after 1.00 seconds" in result.log
    assert "Status: timeout" in result.log
    fresh = body(call(runtime, config))
    assert isinstance(fresh, int) and fresh != warm
    assert gone(warm)


def test_a_worker_that_exits_fails_the_call_and_the_next_gets_a_fresh_one(
    runtime: FunctionRuntime, code: Path
) -> None:
    config = fn(code, "app.pid")
    warm = body(call(runtime, config))
    result = call(runtime, config, b'{"die": true}', request_id="req-die")
    assert result.error_type == "Runtime.ExitError"
    assert body(result) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: req-die Error: Runtime exited with error: exit status 1",
    }
    assert "Runtime.ExitError" in result.log
    first = call(runtime, config)
    second = call(runtime, config)
    assert first.succeeded and body(first) == body(second) != warm  # fresh, then warm
    assert isinstance(warm, int) and gone(warm)


def test_the_log_has_lambdas_lines_and_the_handlers_output(
    runtime: FunctionRuntime, code: Path
) -> None:
    config = fn(code, "app.chatty")
    first = call(runtime, config, b'{"n": 1}', request_id="req-a")
    second = call(runtime, config, b'{"n": 2}', request_id="req-b")
    lines = first.log.splitlines()
    assert lines[0] == "START RequestId: req-a Version: $LATEST"
    assert "init output" in lines
    assert "to stdout 1" in lines and "to stderr" in lines
    warning = next(line for line in lines if line.startswith("[WARNING]"))
    level, stamp, rid, message = warning.split("\t")
    assert level == "[WARNING]"
    assert (rid, message) == ("req-a", "careful 1")
    assert stamp.endswith("Z") and stamp[4] == "-" and stamp[10] == "T"
    assert lines[-2] == "END RequestId: req-a"
    assert lines[-1].startswith("REPORT RequestId: req-a\tDuration: ")
    assert "\tInit Duration: " in lines[-1]
    assert "to stdout 2" in second.log and "to stdout 1" not in second.log
    assert "Init Duration" not in second.log and "init output" not in second.log
    assert second.log_tail == second.log  # under 4 KB: the whole log


def test_marshal_errors_and_oversized_results(runtime: FunctionRuntime, code: Path) -> None:
    bad = call(runtime, fn(code, "app.unserialisable"))
    assert bad.error_type == "Runtime.MarshalError"
    document = body(bad)
    assert isinstance(document, dict)
    assert document["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert document["stackTrace"] == []
    huge = call(runtime, fn(code, "app.huge"))
    assert huge.error_type == "Function.ResponseSizeTooLarge"
    assert body(huge) == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": (
            "Response payload size (6291558 bytes) exceeded maximum allowed payload size "
            "(6291556 bytes)."
        ),
    }


def test_import_errors_are_reported_as_lambda_does(runtime: FunctionRuntime, code: Path) -> None:
    missing = call(runtime, fn(code, "nope.handler"))
    assert missing.error_type == "Runtime.ImportModuleError"
    assert (body(missing) or {})["errorMessage"] == (  # type: ignore[index]
        "Unable to import module 'nope': No module named 'nope'"
    )
    broken = call(runtime, fn(code, "broken.handler"))
    assert broken.error_type == "Runtime.ImportModuleError"
    absent = call(runtime, fn(code, "app.absent"))
    assert absent.error_type == "Runtime.HandlerNotFound"
    assert (body(absent) or {})["errorMessage"] == (  # type: ignore[index]
        "Handler 'absent' missing on module 'app'"
    )


def test_several_invocations_of_one_function_run_at_once(
    runtime: FunctionRuntime, code: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "checkins"
    folder.mkdir()
    config = fn(code, "app.rendezvous", timeout=60)
    results: list[InvocationResult] = []
    ended = threading.Semaphore(0)
    payload = json.dumps({"folder": str(folder), "expect": 3}).encode()

    def done(result: InvocationResult) -> None:
        results.append(result)
        ended.release()

    for i in range(3):
        runtime.invoke(config, payload, done, request_id=f"r{i}")
    for _ in range(3):
        assert ended.acquire(timeout=WAIT)
    assert all(r.succeeded for r in results)
    assert len({body(r) for r in results}) == 3  # three workers, all at once


def test_reserved_concurrency_refuses_calls_past_it(
    runtime: FunctionRuntime, code: Path, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    config = fn(code, "app.wait_for_file", timeout=60, reserved_concurrency=1)
    payload = json.dumps({"path": str(release)}).encode()
    box: list[InvocationResult] = []
    ended = threading.Event()
    runtime.invoke(config, payload, lambda r: (box.append(r), ended.set()), request_id="held")
    refused = call(runtime, config, payload, request_id="extra")
    assert refused.service_error == "TooManyRequestsException"
    assert refused.status_code == 429 and refused.payload == b""
    release.touch()
    assert ended.wait(WAIT) and box[0].payload == b'"released"'
    assert call(runtime, config, payload).payload == b'"released"'
    none_allowed = fn(code, "app.echo", reserved_concurrency=0)
    assert call(runtime, none_allowed).service_error == "TooManyRequestsException"


def test_calls_past_the_pool_size_wait_for_a_worker(code: Path) -> None:
    with FunctionRuntime(pool_size=1) as small:
        config = fn(code, "app.pid")
        results: list[InvocationResult] = []
        ended = threading.Semaphore(0)
        for i in range(5):
            small.invoke(
                config, b"{}", lambda r: (results.append(r), ended.release()), request_id=str(i)
            )
        for _ in range(5):
            assert ended.acquire(timeout=WAIT)
        assert len({r.payload for r in results}) == 1
        assert len(small.workers(config)) == 1


def test_cancel_and_deadline(runtime: FunctionRuntime, code: Path) -> None:
    hang = fn(code, "app.hang", timeout=600)
    outcome = call(runtime, hang, deadline=time.monotonic() + 0.5)
    assert outcome.service_error == "DeadlineExceeded"
    seen: list[InvocationResult] = []
    handle = runtime.invoke(hang, b"{}", seen.append, request_id="c")
    handle.cancel()
    handle.cancel()
    echo = call(runtime, fn(code, "app.echo"), b"[2]")
    assert echo.payload == b"[2]" and seen == []


def test_a_changed_configuration_gets_new_workers(runtime: FunctionRuntime, code: Path) -> None:
    first = call(runtime, fn(code, "app.inspect", environment={"GREETING": "a"}))
    second = call(runtime, fn(code, "app.inspect", environment={"GREETING": "b"}))
    one, two = body(first), body(second)
    assert isinstance(one, dict) and isinstance(two, dict)
    assert (one["env"]["GREETING"], two["env"]["GREETING"]) == ("a", "b")
    assert one["pid"] != two["pid"]


def test_close_ends_calls_in_flight(code: Path) -> None:
    rt = FunctionRuntime()
    seen: list[InvocationResult] = []
    rt.invoke(fn(code, "app.hang", timeout=600), b"{}", seen.append, request_id="x")
    rt.close()
    assert [r.service_error for r in seen] == ["ServiceException"]
    after = call(rt, fn(code, "app.echo"))
    assert after.service_error == "ServiceException"


def test_idle_workers_are_reaped(code: Path) -> None:
    with FunctionRuntime(idle_seconds=0.2) as rt:
        config = fn(code, "app.pid")
        pid = body(call(rt, config))
        assert isinstance(pid, int)
        for _ in range(600):  # the reaper runs every idle_seconds / 2; allow a slow machine
            if not rt.workers(config):
                break
            time.sleep(0.05)
        assert rt.workers(config) == []
        later = body(call(rt, config))
        assert later != pid


def test_a_slow_init_is_not_the_handlers_time(runtime: FunctionRuntime, tmp_path: Path) -> None:
    # Lambda times the handler from the end of its init phase (which has a limit of
    # its own): a module that takes longer to import than the function's timeout still
    # answers its first call; a warm handler that hangs is stopped at its timeout.
    code = write_tree(
        tmp_path / "slow_init",
        {
            "app.py": """
            import time

            time.sleep(1.5)

            def handler(event, context):
                if event.get("hang"):
                    time.sleep(60)
                return "ready"
        """
        },
    )
    config = fn(code, "app.handler", timeout=1)
    first = call(runtime, config)
    assert first.succeeded and body(first) == "ready"
    assert first.init_ms is not None and first.init_ms >= 1500
    hung = call(runtime, config, b'{"hang": 1}')
    assert hung.error_type == "Sandbox.Timedout"


def test_a_finished_call_lets_go_of_its_completion(runtime: FunctionRuntime, code: Path) -> None:
    """The timer heap keeps a call until its timeout's time, long after it ended: what
    the caller's completion holds (for a Task, its closures and records) must not stay
    alive with it."""

    class Completion:
        def __init__(self) -> None:
            self.ended = threading.Event()

        def __call__(self, result: InvocationResult) -> None:
            self.ended.set()

    done = Completion()
    held = weakref.ref(done)
    config = fn(code, "app.echo", timeout=900)  # its heap entry outlives the test
    runtime.invoke(config, b"{}", done, request_id="r-1", deadline=time.monotonic() + 900)
    assert done.ended.wait(WAIT)
    del done
    gc.collect()
    assert held() is None, "the pool still holds the completion of a finished call"
