"""Lambda functions run for real: Python and Node handlers in warm worker processes.

* ``model``: ``FunctionConfig``, one version of a function;
* ``code``: zips unpacked safely into a cache, ``CodeSha256`` and ``CodeSize``;
* ``worker`` and the bootstraps: one process per warm sandbox;
* ``pool``: ``FunctionRuntime``, warm pools and asynchronous invocations;
* ``registry``: ``FunctionRegistry``, names -> versions and aliases, in memory.
"""

from stepfn.functions.code import Code, CodeError, code_sha256, prepare_code
from stepfn.functions.model import FunctionConfig, FunctionConfigError
from stepfn.functions.pool import FunctionRuntime, InvocationHandle
from stepfn.functions.results import InvocationResult

__all__ = [
    "Code",
    "CodeError",
    "FunctionConfig",
    "FunctionConfigError",
    "FunctionRuntime",
    "InvocationHandle",
    "InvocationResult",
    "code_sha256",
    "prepare_code",
]
