"""What a Lambda function is: its configuration, as Lambda's GetFunctionConfiguration shows it.

A ``FunctionConfig`` is one version of one function (``$LATEST`` or a published number).
It is frozen: publishing a version or changing ``$LATEST`` makes a new one, so a warm
worker can always tell whether the code and settings it was started with still hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stepfn.arns import ArnBuilder

PYTHON_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")
# Every Node runtime Lambda has offered recently; they all run on the node at hand.
NODE_RUNTIMES = (
    "nodejs14.x",
    "nodejs16.x",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
)
RUNTIMES = PYTHON_RUNTIMES + NODE_RUNTIMES

LATEST = "$LATEST"
DEFAULT_TIMEOUT_SECONDS = 3
DEFAULT_MEMORY_MB = 128
MAX_TIMEOUT_SECONDS = 900

# Lambda's own patterns: a function name, and handlers as ``path/module.attribute``.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PY_HANDLER = re.compile(r"^(?:[^\s/.]+/)*[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
_NODE_HANDLER = re.compile(r"^(?:[^\s/]+/)*[^\s/.]+\.[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")
_VERSION = re.compile(r"^(?:\$LATEST|[1-9][0-9]*)$")
_ENV_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class FunctionConfigError(ValueError):
    """A function configuration that Lambda would refuse; the message says which field."""


@dataclass(frozen=True)
class FunctionConfig:
    """One version of one Lambda function.

    Attributes:
        name: the function name (``[A-Za-z0-9_-]{1,64}``).
        runtime: ``python3.9`` .. ``python3.13`` or a ``nodejs*`` runtime.
        handler: ``module.function`` (Python) or ``file.export`` (Node).
        code_path: the directory holding the code (``code.prepare_code`` unpacks zips).
        environment: the function's environment variables.
        timeout: seconds an invocation may run.
        memory_size: megabytes (recorded and reported; not enforced).
        version: ``$LATEST`` or a published version number, as text.
        reserved_concurrency: invocations allowed at once; None means unlimited.
        code_sha256: base64 of the SHA-256 of the code zip (Lambda's ``CodeSha256``).
        code_size: bytes of the code zip (Lambda's ``CodeSize``).
        last_modified: when the configuration last changed (ISO-8601 text).
    """

    name: str
    runtime: str
    handler: str
    code_path: str
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    memory_size: int = DEFAULT_MEMORY_MB
    description: str = ""
    role: str = ""
    version: str = LATEST
    reserved_concurrency: int | None = None
    code_sha256: str = ""
    code_size: int = 0
    last_modified: str = ""

    def __post_init__(self) -> None:
        problems = config_problems(self)
        if problems:
            raise FunctionConfigError(f"Function '{self.name}': " + "; ".join(problems))
        # A private copy, so the caller's dict changing later cannot change a frozen config.
        object.__setattr__(self, "environment", dict(self.environment))

    @property
    def is_python(self) -> bool:
        """Whether a Python runtime runs this function."""
        return self.runtime.startswith("python")

    @property
    def is_node(self) -> bool:
        """Whether a Node runtime runs this function."""
        return self.runtime.startswith("nodejs")

    def arn(self, region: str, account: str, qualifier: str | None = None) -> str:
        """The function's ARN, qualified when ``qualifier`` is given."""
        base = ArnBuilder(region, account).lambda_function(self.name)
        return f"{base}:{qualifier}" if qualifier else base

    def describe(self, region: str, account: str) -> dict[str, Any]:
        """The configuration as Lambda's ``FunctionConfiguration`` shape spells it."""
        qualifier = None if self.version == LATEST else self.version
        described: dict[str, Any] = {
            "FunctionName": self.name,
            "FunctionArn": self.arn(region, account, qualifier),
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code_size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory_size,
            "LastModified": self.last_modified,
            "CodeSha256": self.code_sha256,
            "Version": self.version,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": ["x86_64"],
        }
        # Lambda leaves Environment out of a function that has no variables (Terraform's
        # plan would otherwise show an empty block to remove).
        if self.environment:
            described["Environment"] = {"Variables": dict(self.environment)}
        return described


def config_problems(config: FunctionConfig) -> list[str]:
    """Every problem of a configuration, each naming its field."""
    problems: list[str] = []
    if not isinstance(config.name, str) or not _NAME.match(config.name):
        problems.append(f"FunctionName {config.name!r} must be 1 to 64 letters, digits, '-' or '_'")
    if config.runtime not in RUNTIMES:
        problems.append(
            f"Runtime {config.runtime!r} is not supported; use one of {', '.join(RUNTIMES)}"
        )
    elif not isinstance(config.handler, str) or not config.handler:
        problems.append("Handler is required")
    elif config.runtime in PYTHON_RUNTIMES and not _PY_HANDLER.match(config.handler):
        problems.append(
            f"Handler {config.handler!r} must be 'module.function' for {config.runtime}"
        )
    elif config.runtime in NODE_RUNTIMES and not _NODE_HANDLER.match(config.handler):
        problems.append(f"Handler {config.handler!r} must be 'file.export' for {config.runtime}")
    if not isinstance(config.code_path, str) or not config.code_path:
        problems.append("code_path must name the directory holding the code")
    timeout = config.timeout
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not (0 < timeout <= MAX_TIMEOUT_SECONDS)
    ):
        problems.append(f"Timeout {timeout!r} must be a number of seconds in (0, 900]")
    memory = config.memory_size
    if isinstance(memory, bool) or not isinstance(memory, int) or not 128 <= memory <= 10240:
        problems.append(f"MemorySize {memory!r} must be an integer from 128 to 10240")
    if not isinstance(config.version, str) or not _VERSION.match(config.version):
        problems.append(f"Version {config.version!r} must be '$LATEST' or a number")
    reserved = config.reserved_concurrency
    if reserved is not None and (
        isinstance(reserved, bool) or not isinstance(reserved, int) or reserved < 0
    ):
        problems.append(
            f"ReservedConcurrentExecutions {reserved!r} must be an integer >= 0, or None"
        )
    if not isinstance(config.environment, Mapping):
        problems.append("Environment must be a mapping of names to strings")
    else:
        for key, value in config.environment.items():
            if not isinstance(key, str) or not _ENV_KEY.match(key):
                problems.append(f"Environment variable name {key!r} is not valid")
            elif not isinstance(value, str):
                problems.append(f"Environment variable {key} must be a string, not {value!r}")
    return problems
