"""Helpers for the function runtime tests: waiting on a call, code folders and zips."""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path
from textwrap import dedent

from stepfn.functions import FunctionConfig, FunctionRuntime, InvocationResult

WAIT = 60.0  # generous: the machine is shared; a call that never ends fails the test


def call(
    runtime: FunctionRuntime, config: FunctionConfig, payload: bytes = b"{}", **kwargs: object
) -> InvocationResult:
    """Invoke and wait for the result."""
    box: list[InvocationResult] = []
    ended = threading.Event()

    def done(result: InvocationResult) -> None:
        box.append(result)
        ended.set()

    kwargs.setdefault("request_id", "11111111-2222-3333-4444-555555555555")
    runtime.invoke(config, payload, done, **kwargs)  # type: ignore[arg-type]
    assert ended.wait(WAIT), "the invocation never ended"
    return box[0]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> text, dedented) under root."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip())
    return root


def make_zip(files: dict[str, str]) -> bytes:
    """A zip holding ``files`` (relative path -> text, dedented)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, dedent(text).lstrip())
    return buffer.getvalue()
