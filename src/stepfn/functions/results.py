"""How an invocation ended, in the terms of Lambda's Invoke response.

The body is kept as the bytes the runtime produced (a JSON result, or an error
document): the Lambda API returns them untouched and a task adapter parses them once.
The log is assembled only when someone reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

LOG_TAIL_BYTES = 4096
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100  # Lambda's limit: 6291556 bytes
UNHANDLED = "Unhandled"


@dataclass(slots=True)
class InvocationResult:
    """One invocation's outcome.

    Attributes:
        request_id: the invocation's request id.
        payload: the response body: the handler's result, or an error document when
            ``function_error`` is set; empty when ``service_error`` is set.
        function_error: ``"Unhandled"`` when the function failed (Lambda's
            ``X-Amz-Function-Error``), else None.
        error_type: the ``errorType`` of the error document, when there is one.
        service_error: a failure of Lambda itself rather than of the function
            (``TooManyRequestsException``, ``ServiceException``), or ``"DeadlineExceeded"``
            when the caller's deadline passed first; None otherwise.
        service_message: the text that goes with ``service_error``.
        status_code: the HTTP status Lambda answers with (200, 429, 500).
        executed_version: the version that ran.
        duration_ms: how long the handler ran.
        init_ms: the init phase's duration when this invocation started a worker.
        max_memory_mb: the worker's peak resident memory.
        memory_size: the function's configured memory (the REPORT line shows it).
        output: what the handler printed during the call (``log`` wraps it in Lambda's
            START/END/REPORT lines).
        log_stream: the worker's log stream (``YYYY/MM/DD/[VERSION]HEX``), under the log
            group ``/aws/lambda/NAME``.
    """

    request_id: str
    payload: bytes = b""
    function_error: str | None = None
    error_type: str | None = None
    service_error: str | None = None
    service_message: str = ""
    status_code: int = 200
    executed_version: str = "$LATEST"
    duration_ms: float = 0.0
    init_ms: float | None = None
    max_memory_mb: int = 0
    memory_size: int = 128
    output: bytes = b""
    log_stream: str = ""
    notes: list[str] = field(default_factory=list)
    report_status: str | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the function returned a result."""
        return self.function_error is None and self.service_error is None

    @property
    def log(self) -> str:
        """The invocation's log as Lambda writes it: START, the output, END, REPORT."""
        rid = self.request_id
        lines = [f"START RequestId: {rid} Version: {self.executed_version}\n"]
        if self.output:
            text = self.output.decode("utf-8", "replace")
            lines.append(text if text.endswith("\n") else text + "\n")
        lines.extend(self.notes)
        lines.append(f"END RequestId: {rid}\n")
        billed = max(1, int(self.duration_ms + 0.999))
        report = (
            f"REPORT RequestId: {rid}\tDuration: {self.duration_ms:.2f} ms\t"
            f"Billed Duration: {billed} ms\tMemory Size: {self.memory_size} MB\t"
            f"Max Memory Used: {self.max_memory_mb} MB\t"
        )
        if self.init_ms is not None:
            report += f"Init Duration: {self.init_ms:.2f} ms\t"
        if self.report_status:
            report += f"Status: {self.report_status}\t"
            if self.error_type:
                report += f"Error Type: {self.error_type}\t"
        lines.append(report + "\n")
        return "".join(lines)

    @property
    def log_tail(self) -> str:
        """The last 4 KB of the log (what ``LogType: Tail`` returns, before base64)."""
        data = self.log.encode("utf-8")[-LOG_TAIL_BYTES:]
        return data.decode("utf-8", "ignore")

    def error_document(self) -> dict[str, Any] | None:
        """The parsed error document of a function error, or None."""
        if self.function_error is None:
            return None
        try:
            value = json.loads(self.payload)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


def service_document(error_type: str, message: str) -> bytes:
    """An error document written by Lambda itself (timeouts, exits, size limits)."""
    return json.dumps(
        {"errorType": error_type, "errorMessage": message}, separators=(",", ":")
    ).encode()
