"""Functions given by their code on the command line or to ``stepfn.run``.

``--function NAME=SPEC`` names a function by its code: a directory or a zip, Python or
Node. The spec is ``PATH[:RUNTIME][:HANDLER]``:

* ``PATH``: a directory (used in place) or a ``.zip`` (unpacked once into a cache);
* ``RUNTIME``: one of Lambda's runtime names (``python3.12``, ``nodejs20.x``, ...);
  without it, code with ``index.js``, ``index.mjs``, ``index.cjs`` or ``package.json`` at
  its root is ``nodejs20.x``, any other is Python (the interpreter at hand's version);
* ``HANDLER``: ``module.function`` or ``file.export``; default Lambda's console defaults,
  ``lambda_function.lambda_handler`` for Python and ``index.handler`` for Node.

A piece after the path is a runtime when it is a runtime's name, else the handler, so
``./fn:app.handler`` and ``./fn:python3.12:app.handler`` both work. A ``FunctionCode``
is checked when it becomes a configuration: the code must exist and hold the handler's
file, so a typo fails at start with what to write instead, not at the first Task.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from stepfn.functions.code import CodeError, prepare_code
from stepfn.functions.model import (
    DEFAULT_TIMEOUT_SECONDS,
    NODE_RUNTIMES,
    PYTHON_RUNTIMES,
    RUNTIMES,
    FunctionConfig,
)

NODE_DEFAULT_RUNTIME = "nodejs20.x"
DEFAULT_HANDLERS = {"python": "lambda_function.lambda_handler", "nodejs": "index.handler"}
# Files at a package's root that make it a Node function.
NODE_MARKERS = ("index.js", "index.mjs", "index.cjs", "package.json")
_NODE_SUFFIXES = (".js", ".mjs", ".cjs")


def python_runtime() -> str:
    """The Python runtime name of the interpreter at hand (the newest one Lambda names
    when this interpreter is newer still)."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return name if name in PYTHON_RUNTIMES else PYTHON_RUNTIMES[-1]


def looks_like_path(target: str) -> bool:
    """Whether the target of ``NAME=TARGET`` names code (a path) rather than
    ``MODULE:FUNCTION``: it has a path separator, a ``.zip``, or (without a colon) names
    something that exists."""
    head = target.split(":", 1)[0]
    if not head:
        return False
    if "/" in head or "\\" in head or head.startswith((".", "~")):
        return True
    if head.lower().endswith(".zip"):
        return True
    return ":" not in target and Path(target).exists()


class FunctionSpecError(ValueError):
    """A function spec that cannot be used; the message says what to write instead."""


@dataclass(frozen=True)
class FunctionCode:
    """A Lambda function given by its code.

    Attributes:
        code: a directory or a zip file.
        runtime: a Lambda runtime name; None infers it from the code.
        handler: ``module.function`` or ``file.export``; None takes the runtime's default.
        timeout: seconds an invocation may run.
        environment: the function's variables.
        memory_size: megabytes (recorded).
    """

    code: str
    runtime: str | None = None
    handler: str | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    environment: dict[str, str] = field(default_factory=dict)
    memory_size: int = 128

    @staticmethod
    def names_code(target: str) -> bool:
        """Whether ``target`` (of ``NAME=TARGET``) names code rather than
        ``MODULE:FUNCTION`` (see ``looks_like_path``)."""
        return looks_like_path(target)

    @classmethod
    def parse(cls, spec: str) -> FunctionCode:
        """``PATH[:RUNTIME][:HANDLER]`` (see the module's docstring)."""
        path, *rest = spec.split(":")
        if not path or len(rest) > 2:
            raise FunctionSpecError(f"{spec!r}: expected PATH[:RUNTIME][:HANDLER]")
        runtime = handler = None
        if len(rest) == 2:
            runtime, handler = rest[0] or None, rest[1] or None
            if runtime is not None and runtime not in RUNTIMES:
                raise FunctionSpecError(
                    f"{spec!r}: {runtime!r} is not a runtime; use one of {', '.join(RUNTIMES)}"
                )
        elif rest and rest[0]:
            if rest[0] in RUNTIMES:
                runtime = rest[0]
            else:
                handler = rest[0]
        return cls(str(Path(path).expanduser()), runtime, handler)

    def config(self, name: str, cache_dir: str | Path | None = None) -> FunctionConfig:
        """The function's ``$LATEST`` configuration, with its code prepared.

        Raises:
            FunctionSpecError: the code is missing, is not a zip, or lacks the handler's
                file; or the runtime or handler is not one Lambda accepts.
        """
        try:
            prepared = prepare_code(self.code, cache_dir)
        except CodeError as exc:
            raise FunctionSpecError(str(exc)) from None
        root = Path(prepared.path)
        runtime = self.runtime or infer_runtime(root)
        family = "nodejs" if runtime in NODE_RUNTIMES else "python"
        handler = self.handler or DEFAULT_HANDLERS[family]
        missing = handler_problem(root, handler, family)
        if missing:
            raise FunctionSpecError(
                f"{self.code}: {missing} (the handler {handler!r} for {runtime}); name "
                f"the handler: NAME={self.code}:{runtime}:FILE.FUNCTION"
            )
        try:
            return FunctionConfig(
                name=name,
                runtime=runtime,
                handler=handler,
                code_path=prepared.path,
                environment=dict(self.environment),
                timeout=self.timeout,
                memory_size=self.memory_size,
                code_sha256=prepared.sha256,
                code_size=prepared.size,
            )
        except ValueError as exc:
            raise FunctionSpecError(str(exc)) from None


def infer_runtime(root: Path) -> str:
    """``nodejs20.x`` for code with a Node entry point or ``package.json`` at its root,
    else the Python runtime of this interpreter."""
    if any((root / marker).is_file() for marker in NODE_MARKERS):
        return NODE_DEFAULT_RUNTIME
    return python_runtime()


def handler_problem(root: Path, handler: str, family: str) -> str | None:
    """What is missing for ``handler`` to load from ``root``, or None when its file is there
    (each runtime resolves the module as Lambda's does: Node up to the first dot after the
    last slash, Python up to the last dot)."""
    if family == "nodejs":
        slash = handler.rfind("/")
        folder, rest = handler[: slash + 1], handler[slash + 1 :]
        module = folder + rest.split(".", 1)[0]
        candidates = [root / (module + suffix) for suffix in _NODE_SUFFIXES]
        candidates.append(root / "node_modules" / module)
    else:
        module = handler.rsplit(".", 1)[0].replace(".", "/")
        candidates = [root / f"{module}.py", root / module / "__init__.py"]
    if any(path.exists() for path in candidates):
        return None
    return f"there is no {candidates[0].relative_to(root).as_posix()} in it"
