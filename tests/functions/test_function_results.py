"""InvocationResult: Lambda's log lines and the 4 KB tail."""

from __future__ import annotations

from stepfn.functions import InvocationResult


def test_log_lines_and_tail() -> None:
    result = InvocationResult(
        "rid",
        b"{}",
        duration_ms=1.234,
        init_ms=50.5,
        max_memory_mb=30,
        memory_size=256,
        output=("é" * 3000).encode(),
    )
    lines = result.log.splitlines()
    assert lines[0] == "START RequestId: rid Version: $LATEST"
    assert lines[-2] == "END RequestId: rid"
    assert lines[-1] == (
        "REPORT RequestId: rid\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 256 MB"
        "\tMax Memory Used: 30 MB\tInit Duration: 50.50 ms\t"
    )
    tail = result.log_tail
    assert len(tail.encode()) <= 4096 and result.log.endswith(tail)
    assert len(tail.encode()) >= 4093  # at most a split character is dropped
    assert result.succeeded and result.error_document() is None


def test_error_document_of_a_function_error() -> None:
    failed = InvocationResult(
        "rid", b'{"errorType":"Boom","errorMessage":"x"}', function_error="Unhandled"
    )
    assert not failed.succeeded
    assert failed.error_document() == {"errorType": "Boom", "errorMessage": "x"}
