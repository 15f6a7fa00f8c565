"""The bootstrap of a Python function worker: one warm sandbox, one invocation at a time.

Started by ``stepfn.functions.worker`` as ``python python_bootstrap.py`` with the
function's environment (``_HANDLER``, ``LAMBDA_TASK_ROOT`` and AWS's other reserved
variables). It imports the handler once (Lambda's init phase), then serves invocations
over its stdin and stdout:

* request: ``REQUEST_ID INVOKED_ARN REMAINING_MS PAYLOAD_LEN\\n`` then the payload;
* init report, once: ``I STATUS BODY_LEN\\n`` then the body (an error document if
  STATUS is 1);
* response: ``STATUS BODY_LEN LOG_LEN MAX_MEMORY_MB\\n`` then the body (the handler's
  JSON result, or an error document if STATUS is 1) and the invocation's log.

The file imports nothing of stepfn (and what it needs only on errors, lazily), so a cold
start costs little more than the interpreter and the handler's own imports. What the
handler prints goes into its invocation's log; the protocol keeps private copies of the
pipes so a stray write to fd 1 cannot corrupt it.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import resource
import sys
import time
from typing import Any


class LambdaContext:
    """The ``context`` argument, with the fields AWS's Python runtime gives it."""

    def __init__(self, request_id: str, invoked_arn: str, remaining_ms: int) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        # AWS's runtime reads it from the environment: a string, as there.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + remaining_ms / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class _Capture(io.TextIOBase):
    """sys.stdout and sys.stderr: text goes to the current invocation's log."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> bytes:
        text = "".join(self.parts)
        self.parts.clear()
        return text.encode("utf-8", "replace")


class _Logs:
    """AWS's root log handler (``[LEVEL]\tTIMESTAMP\tREQUEST_ID\tMESSAGE``), installed once
    the function's code has imported ``logging``: code that never logs does not pay for
    importing it at a cold start."""

    def __init__(self, capture: _Capture) -> None:
        self.capture = capture
        self.request_id = ""
        self.installed = False

    def install_if_used(self) -> None:
        if self.installed or "logging" not in sys.modules:
            return
        import logging  # already imported by the function's code: no cost

        self.installed = True
        logs = self

        class LambdaLogHandler(logging.Handler):
            def emit(self, record: Any) -> None:
                try:
                    message = record.getMessage()
                    if record.exc_info:
                        message += "\n" + logging.Formatter().formatException(record.exc_info)
                    when = time.gmtime(record.created)
                    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", when)
                    stamp += f".{int(record.msecs):03d}Z"
                    logs.capture.write(
                        f"[{record.levelname}]\t{stamp}\t{logs.request_id}\t{message}\n"
                    )
                except Exception:
                    self.handleError(record)

        logging.getLogger().addHandler(LambdaLogHandler())


class _Encoder(json.JSONEncoder):
    # AWS's runtime serialises Decimal (as boto3's DynamoDB types give them) as numbers.
    def default(self, o: Any) -> Any:
        decimal = sys.modules.get("decimal")  # a Decimal exists only if decimal was imported
        if decimal is not None and isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


_ENCODER = _Encoder(ensure_ascii=False)


def error_document(
    message: str, error_type: str, request_id: str, stack: list[str] | None = None
) -> bytes:
    """Lambda's Python error document."""
    document = {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack or [],
    }
    return json.dumps(document).encode("utf-8")


def exception_document(exc: BaseException, request_id: str, skip: int = 1) -> bytes:
    """The error document of an exception the handler raised (our frames left out)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)[skip:]
    return error_document(str(exc), type(exc).__name__, request_id, traceback.format_list(frames))


def load_handler(spec: str) -> Any:
    """Import the handler as AWS's runtime does, raising ``_InitError`` as it reports."""
    if "." not in spec:
        raise _InitError(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)",
        )
    module_name, function_name = spec.rsplit(".", 1)
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        raise _InitError(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            [f' File "{exc.filename}" Line {exc.lineno}\n    {(exc.text or "").strip()}\n'],
        ) from None
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return handler


class _InitError(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack


def _max_memory_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    """Init, then serve invocations until stdin closes."""
    requests = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
    responses = os.fdopen(os.dup(1), "wb", buffering=1 << 16)
    # The handler's own writes to fd 0/1 must not touch the protocol's pipes.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    capture = _Capture()
    sys.stdout = sys.stderr = capture
    logs = _Logs(capture)
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    # The script's own folder would shadow modules of the function's code: replace it.
    sys.path[0] = task_root

    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except _InitError as exc:
        body = error_document(exc.message, exc.error_type, "", exc.stack)
        _send_init(responses, 1, body)
        return
    except Exception as exc:  # the module raised while it was imported
        _send_init(responses, 1, exception_document(exc, "", skip=0))
        return
    logs.install_if_used()
    _send_init(responses, 0, b"")

    readline, read, dumps = requests.readline, requests.read, _ENCODER.encode
    while True:
        header = readline()
        if not header:
            return
        request_id, invoked_arn, remaining, size = header.split()
        payload = read(int(size))
        rid = logs.request_id = request_id.decode()
        logs.install_if_used()
        context = LambdaContext(rid, invoked_arn.decode(), int(remaining))
        status = 0
        try:
            result = handler(json.loads(payload), context)
        except Exception as exc:  # the handler's error is the invocation's error
            status, body = 1, exception_document(exc, rid)
        else:
            if isinstance(result, bytes | bytearray):
                body = bytes(result)
            else:
                try:
                    body = dumps(result).encode("utf-8")
                except (TypeError, ValueError, OverflowError) as exc:
                    status = 1
                    body = error_document(
                        f"Unable to marshal response: {exc}", "Runtime.MarshalError", rid
                    )
        log = capture.take()
        responses.write(b"%d %d %d %d\n" % (status, len(body), len(log), _max_memory_mb()))
        responses.write(body)
        responses.write(log)
        responses.flush()


def _send_init(out: Any, status: int, body: bytes) -> None:
    out.write(b"I %d %d\n" % (status, len(body)))
    out.write(body)
    out.flush()


if __name__ == "__main__":
    main()
