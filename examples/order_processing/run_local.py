"""Run the Order Processing System in this process, without a server: ``stepfn.run`` calls
the Python functions directly and each Node function in a ``node`` process of its own.

    python examples/order_processing/run_local.py [ORDER.json]

prints the execution's result, the confirmation email and where the data is. The deployed
system runs the same functions as Lambda functions; this is the shortest way to see them.
Other code (the tests) imports ``all_functions()`` from here for ``stepfn.run``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import mailbox
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

APP = Path(__file__).resolve().parent
FUNCTIONS = APP / "functions"
DEFINITION = APP / "statemachine.asl.json"
INVOKE_ONCE = FUNCTIONS / "lib" / "invoke_once.js"
NODE_FUNCTIONS = ("validate_order", "process_payment")
PYTHON_FUNCTIONS = (
    "prepare_shipment",
    "notify_customer",
    "notify_support",
    "log_error",
    "release_stock",
)

if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

_modules: dict[str, ModuleType] = {}
_install_lock = threading.Lock()


class NodeFunctionError(Exception):
    """A Node handler threw: ``error_type`` is the error's name, as Lambda reports it."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def ensure_node_modules() -> None:
    """``npm ci`` in the functions folder when its dependencies are not installed yet."""
    with _install_lock:
        if (FUNCTIONS / "node_modules" / "better-sqlite3" / "build" / "Release").is_dir():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not on PATH: the Node functions need it to install")
        env = dict(os.environ)
        node = shutil.which("node")
        if "npm_config_nodedir" not in env and node is not None:
            # node-gyp would fetch Node's headers from the internet; a system Node has them
            # beside it (PREFIX/include/node), and npm's own config, if set, still wins.
            prefix = Path(node).resolve().parents[1]
            if (prefix / "include" / "node" / "node.h").exists():
                configured = subprocess.run(
                    [npm, "config", "get", "nodedir"], capture_output=True, text=True, check=False
                ).stdout.strip()
                if configured in ("", "undefined", "null"):
                    env["npm_config_nodedir"] = str(prefix)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FUNCTIONS, env=env, check=True)


def python_handler(name: str) -> Any:
    """The ``handler`` of ``functions/NAME/handler.py``, imported once under its own name."""
    module = _modules.get(name)
    if module is None:
        path = FUNCTIONS / name / "handler.py"
        spec = importlib.util.spec_from_file_location(f"orders_function_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[name] = module
    return module.handler


def run_node(name: str, event: Any) -> Any:
    """Run ``functions/NAME/index.js``'s handler once in a new ``node`` process."""
    return run_node_file(FUNCTIONS / name / "index.js", event)


def run_node_file(path: Path, event: Any) -> Any:
    """Run the ``handler`` export of the Node file ``path`` once in a new ``node`` process."""
    name = path.parent.name
    done = subprocess.run(
        ["node", str(INVOKE_ONCE), str(path)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"node {name} exited {done.returncode}: {done.stderr}")
    reply = json.loads(done.stdout.strip().splitlines()[-1])
    if "errorType" in reply:
        raise NodeFunctionError(reply["errorType"], reply["errorMessage"])
    return reply["result"]


def call(name: str, event: Any) -> Any:
    """Call function NAME (Node or Python) with ``event``."""
    if name in NODE_FUNCTIONS:
        return run_node(name, event)
    return python_handler(name)(json.loads(json.dumps(event)), None)


def node_as_python(name: str, path: Path | None = None) -> Any:
    """A Python ``handler(event, context)`` for ``stepfn.run`` that runs the Node handler.

    A Node error is raised as an exception whose class is named after the error, since
    ``stepfn.run`` names a Python handler's failure after its exception's class.
    """

    def handler(event: Any, context: Any) -> Any:
        try:
            return run_node_file(path or FUNCTIONS / name / "index.js", event)
        except NodeFunctionError as exc:
            raise type(exc.error_type, (Exception,), {})(str(exc)) from None

    return handler


def all_functions() -> dict[str, Any]:
    """Every function of the app, by the name its Lambda ARN ends with."""
    functions = {name: node_as_python(name) for name in NODE_FUNCTIONS}
    functions.update({name: python_handler(name) for name in PYTHON_FUNCTIONS})
    return functions


def main(argv: list[str] | None = None) -> int:
    """Run one order (the seed's example by default) and show what happened."""
    from orders_app.config import settings

    import stepfn

    parser = argparse.ArgumentParser(description="Run the Order Processing System locally.")
    parser.add_argument("order", nargs="?", default=str(APP / "orders" / "example.json"))
    args = parser.parse_args(argv)
    try:
        order = json.loads(Path(args.order).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"cannot read the order {args.order}: {exc}", file=sys.stderr)
        return 2
    ensure_node_modules()
    definition = json.loads(DEFINITION.read_text(encoding="utf-8"))
    execution = stepfn.run(definition, order, functions=all_functions())
    config = settings()
    print(f"{execution.status}: {execution.execution_arn}")
    if execution.status == "SUCCEEDED":
        print(json.dumps(execution.output, indent=2))
    else:
        print(f"error: {execution.error}\ncause: {execution.cause}")
    if config.smtp_host is None and config.maildir.exists():
        box = mailbox.Maildir(config.maildir, create=False)
        latest = max(box.iteritems(), key=lambda kv: kv[1].get_date(), default=None)
        if latest is not None:
            message = latest[1]
            print(f"\nlatest email in {config.maildir}:\n")
            for header in ("From", "To", "Subject", "Message-ID"):
                print(f"{header}: {message[header]}")
            print()
            print(message.get_payload(decode=True).decode("utf-8", errors="replace"))
    print(f"data: {config.db_path}, error log: {config.error_log}")
    return 0 if execution.status == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
