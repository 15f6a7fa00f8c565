"""The ``stepfn`` command: validate state machine definitions and run them locally.

Every user mistake (a file that is not there, JSON that does not parse, a definition AWS
would refuse) ends in a short message and exit status 1, never a traceback: the person at
the terminal needs the location of their mistake, not of our code. The commands go
through the public API only (``stepfn.run``, ``stepfn.validate``).
"""

from __future__ import annotations

import gc
import importlib
import ipaddress
import json
import math
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from stepfn.errors import DefinitionError, Problem, ServiceError
from stepfn.lang.nesting import depth_problem, text_too_deep

# Columns of the ``--history`` table are cut to keep one event per line.
_DETAIL_WIDTH = 70
# Control characters (C0, DEL, C1) as Python writes them, so that a state name or a cause
# holding ``\x1b[2J`` is shown, not obeyed, by the terminal.
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
# In free text (an error's cause) line breaks and tabs are text; in a table cell they are not.
_CONTROLS_BUT_LINES = {code: text for code, text in _CONTROLS.items() if chr(code) not in "\n\t"}
_HISTORY_COLUMNS = ("ID", "ELAPSED", "TYPE", "STATE", "DETAIL")


def printable(text: str, *, keep_lines: bool = False) -> str:
    """``text`` with its control characters escaped (``\\x1b``), safe to print to a terminal.

    Args:
        text: what a user wrote (a state name, an error's cause, an output).
        keep_lines: leave newlines and tabs as they are.
    """
    return text.translate(_CONTROLS_BUT_LINES if keep_lines else _CONTROLS)


def _read_text(path: str, what: str) -> str:
    """A file's text, or a ClickException naming the file and the reason."""
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise click.ClickException(f"{what} {path!r} does not exist") from None
    except IsADirectoryError:
        raise click.ClickException(f"{what} {path!r} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {what} {path!r}: {exc}") from None


def _definition_problems(text: str) -> list[Problem]:
    """Every problem AWS's validator would report, the unparseable text included."""
    import stepfn

    try:
        return list(stepfn.validate(text))
    except DefinitionError as exc:
        return list(exc.problems)


def _one_line(problem: Problem) -> str:
    """A problem on one line: parser messages quote the source on a second one."""
    return " ".join(line.strip() for line in str(problem).splitlines() if line.strip())


def _parse_input(value: str | None) -> Any:
    """``--input``: JSON text, ``@FILE`` for a file's JSON, ``@-`` for standard input."""
    if value is None:
        return None
    source = "--input"
    text = value
    if value.startswith("@"):
        source = value[1:] or "-"
        text = _read_text(source, "input file")
    if text_too_deep(text):
        raise click.ClickException(f"{source} is not valid input: {depth_problem()}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{source} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


FUNCTION_HELP = (
    "A Lambda function NAME: NAME=MODULE:FUNCTION, a Python handler(event, context) "
    "imported into this process, or NAME=PATH[:RUNTIME][:HANDLER], code in a directory "
    "or a zip, Python or Node, run in warm worker processes (RUNTIME: python3.9..3.13 or "
    "nodejs*; default nodejs20.x for code with index.js, index.mjs or package.json, else "
    "Python; HANDLER default index.handler or lambda_function.lambda_handler). A PATH has "
    "a '/' or ends in .zip. Repeatable."
)


def _load_function(spec: str) -> tuple[str, Any]:
    """``NAME=MODULE:ATTRIBUTE`` -> the function name and its local handler;
    ``NAME=PATH[:RUNTIME][:HANDLER]`` -> the name and its ``FunctionCode``."""
    from stepfn import FunctionCode, FunctionSpecError

    name, sep, target = spec.partition("=")
    if sep and name and FunctionCode.names_code(target):
        try:
            code = FunctionCode.parse(target)
            code.config(name)  # the code and its handler are there, the runtime is known
        except FunctionSpecError as exc:
            raise click.ClickException(f"--function {spec}: {exc}") from None
        return name, code
    module_name, colon, attribute = target.partition(":")
    if not (sep and colon and name and module_name and attribute):
        raise click.BadParameter(
            f"{spec!r}: expected NAME=MODULE:FUNCTION or NAME=PATH[:RUNTIME][:HANDLER] "
            "(a PATH has a '/' or ends in .zip)",
            param_hint="'--function'",
        )
    # Handlers usually sit beside the definition, in the directory the command runs from.
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.ClickException(
            f"--function {spec}: cannot import {module_name}: {exc}"
        ) from None
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise click.ClickException(f"--function {spec}: {module_name} has no {attribute}()")
    return name, handler


def _seconds(timestamp: Any) -> float | None:
    """An event timestamp (datetime, epoch seconds or ISO text) as epoch seconds."""
    if isinstance(timestamp, datetime):
        return timestamp.timestamp()
    if isinstance(timestamp, int | float) and not isinstance(timestamp, bool):
        return float(timestamp)
    if isinstance(timestamp, str):
        try:
            return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _event_details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            return value
    return {}


def _summary(event: Mapping[str, Any]) -> str:
    """The detail most worth a glance: the error and cause, an output, an index."""
    details = _event_details(event)
    if "error" in details or "cause" in details:
        text = " ".join(str(details.get(k)) for k in ("error", "cause") if details.get(k))
    elif "output" in details:
        text = str(details["output"])
    elif "index" in details:
        text = f"index {details['index']}"
    elif "input" in details:
        text = str(details["input"])
    else:
        text = ""
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_WIDTH else text[: _DETAIL_WIDTH - 3] + "..."


def format_history(events: Sequence[Mapping[str, Any]]) -> str:
    """Events as a plain-text table: id, time since the start, type, state, detail."""
    start = _seconds(events[0].get("timestamp")) if events else None
    rows = [list(_HISTORY_COLUMNS)]
    for event in events:
        at = _seconds(event.get("timestamp"))
        elapsed = f"{at - start:.3f}s" if at is not None and start is not None else ""
        name = _event_details(event).get("name", "")
        cells = [str(event.get("id", "")), elapsed, str(event.get("type")), str(name)]
        rows.append([printable(cell) for cell in [*cells, _summary(event)]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HISTORY_COLUMNS))]
    lines = []
    for row in rows:
        cells = [row[0].rjust(widths[0]), row[1].rjust(widths[1])]
        cells += [c.ljust(w) for c, w in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _terminal_json(text: str) -> str:
    """JSON text with DEL and the C1 controls written as ``\\u`` escapes (JSON already
    escapes C0): the same JSON value, but nothing a terminal would obey."""
    return text.translate(_JSON_CONTROLS)


_JSON_CONTROLS = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}


def _json_default(value: Any) -> Any:
    """History timestamps are datetimes: show them as AWS's JSON does, ISO-8601."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _choice_option(*names: str, choices: list[str], help: str) -> Callable[[Any], Any]:
    """An option that takes one of ``choices``, the first by default (--help shows it)."""
    return click.option(
        *names, type=click.Choice(choices), default=choices[0], show_default=True, help=help
    )


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds", param=param)
    return value


def _seconds_option(
    name: str, *, default: float, minimum: float, help: str
) -> Callable[[Any], Any]:
    """An option that takes a finite number of seconds, at least ``minimum``."""
    return click.option(
        name,
        default=default,
        show_default=True,
        type=click.FloatRange(min=minimum),
        callback=_finite,
        help=help,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stepfn", prog_name="stepfn")
def main() -> None:
    """Run AWS Step Functions state machines (Amazon States Language) locally."""


@main.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def validate(files: tuple[str, ...]) -> None:
    """Check definitions for every problem AWS would report.

    Reports what AWS's ValidateStateMachineDefinition would: every problem of every
    FILE with its location, for example "machine.asl.json: /States/Charge/Next: ...",
    or one OK line per valid file. Exits with status 1 when any file has a problem.
    """
    failed = False
    for path in files:
        try:
            problems = _definition_problems(_read_text(path, "file"))
        except click.ClickException as exc:
            problems = [Problem("", exc.message)]
        if problems:
            failed = True
            for problem in problems:
                click.echo(printable(f"{path}: {_one_line(problem)}"))
        else:
            click.echo(printable(f"{path}: OK"))
    if failed:
        sys.exit(1)


@main.command()
@click.argument("file")
@click.option(
    "--input",
    "input_",
    metavar="JSON|@FILE",
    help="Execution input: JSON text, or @FILE to read it from a file (@- for stdin).",
)
@click.option("--name", help="Execution name (what $$.Execution.Name shows).")
@_choice_option(
    "--type", "machine_type", choices=["STANDARD", "EXPRESS"], help="State machine type."
)
@click.option(
    "--function",
    "functions",
    multiple=True,
    metavar="NAME=MODULE:FUNCTION|NAME=PATH[:RUNTIME][:HANDLER]",
    help=FUNCTION_HELP,
)
@click.option(
    "--real-time",
    is_flag=True,
    help="Let Wait states and timeouts take real time (default: a virtual clock, instant).",
)
@click.option("--history", is_flag=True, help="Print the execution's events as a table (stderr).")
@click.option(
    "--history-json",
    is_flag=True,
    help="Print status, output, error, cause and events as one JSON document.",
)
def run(
    file: str,
    input_: str | None,
    name: str | None,
    machine_type: str,
    functions: tuple[str, ...],
    real_time: bool,
    history: bool,
    history_json: bool,
) -> None:
    """Run the state machine in FILE once and print its output as JSON.

    When the execution does not succeed, prints its status, error and cause on stderr
    and exits with status 1.
    """
    import stepfn
    from stepfn.clock import Clock

    text = _read_text(file, "file")
    execution_input = _parse_input(input_)
    handlers = dict(_load_function(spec) for spec in functions)
    try:
        execution = stepfn.run(
            text,
            execution_input,
            name=name,
            functions=handlers or None,
            state_machine_type=machine_type,
            clock=Clock() if real_time else None,
        )
    except DefinitionError as exc:
        problems = "; ".join(_one_line(p) for p in exc.problems)
        raise click.ClickException(printable(f"{file}: invalid definition: {problems}")) from None
    except ValueError as exc:  # an input stepfn.run refuses (nested too deep)
        raise click.ClickException(printable(str(exc))) from None

    if history:
        click.echo(format_history(execution.history), err=True)
    if history_json:
        document = {
            "status": execution.status,
            "output": execution.output,
            "error": execution.error,
            "cause": execution.cause,
            "history": execution.history,
        }
        text = json.dumps(document, indent=2, default=_json_default, ensure_ascii=False)
        click.echo(_terminal_json(text))
    elif execution.status == "SUCCEEDED":
        click.echo(_terminal_json(json.dumps(execution.output, indent=2, ensure_ascii=False)))
    if execution.status != "SUCCEEDED":
        click.echo(f"Execution {execution.status}", err=True)
        click.echo(printable(f"error: {execution.error}", keep_lines=True), err=True)
        click.echo(printable(f"cause: {execution.cause}", keep_lines=True), err=True)
        sys.exit(1)


@main.command()
@click.option(
    "--db",
    default="stepfn.db",
    show_default=True,
    help="The store: a SQLite file path, memory:// for a throwaway in-memory one, or "
    "postgresql://user@host:port/database[?schema=NAME] for a database that several "
    "servers share.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8083,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--function",
    "functions",
    multiple=True,
    metavar="NAME=MODULE:FUNCTION|NAME=PATH[:RUNTIME][:HANDLER]",
    help=FUNCTION_HELP + " Functions given by their code are registered in the store "
    "(the Lambda API lists them).",
)
@_choice_option(
    "--auth",
    choices=["none", "sigv4"],
    help="none: accept any credentials. sigv4: verify each request's AWS Signature "
    "Version 4 against the keys of --credentials.",
)
@click.option(
    "--credentials",
    metavar="FILE",
    help="For --auth sigv4: an INI file like ~/.aws/credentials (every profile's "
    "aws_access_key_id and aws_secret_access_key). Default: $AWS_SHARED_CREDENTIALS_FILE, "
    "else ~/.aws/credentials.",
)
@_seconds_option(
    "--drain-timeout",
    default=30.0,
    minimum=0,
    help="On SIGTERM or Ctrl-C, seconds to let requests in progress finish.",
)
@click.option(
    "--wait-time-scale",
    type=float,
    envvar="WAIT_TIME_SCALE",
    metavar="SCALE",
    help="Let Waits, Retry intervals, timeouts and heartbeats take SCALE x their time "
    "(0: at once; histories still show the full times). Default: $WAIT_TIME_SCALE, else 1.",
)
@_choice_option(
    "--clock",
    "clock_kind",
    choices=["real", "virtual"],
    help="virtual: time stands still until a test moves it with POST /_stepfn/clock "
    '{"advanceSeconds": N}; timers then due fire.',
)
@click.option(
    "--mock-config",
    metavar="FILE",
    help="A Step Functions Local mock file (MockConfigFile.json): StartExecution on "
    "stateMachineArn#TestCase runs that test case. Default: $SFN_MOCK_CONFIG, else "
    "$LOCALSTACK_SFN_MOCK_CONFIG.",
)
@click.option(
    "--status-events",
    metavar="URL|FILE",
    help="Send each execution status change as EventBridge's 'Step Functions Execution "
    "Status Change' event: POSTed to an http(s) URL, or appended to a JSON-lines FILE.",
)
@_seconds_option(
    "--lease-seconds",
    default=15.0,
    minimum=0.5,
    help="On a PostgreSQL store shared by several servers: how long a server's claim on "
    "its work holds without renewal, i.e. how soon the others take over a dead server's "
    "executions and tasks.",
)
def server(
    db: str,
    host: str,
    port: int,
    functions: tuple[str, ...],
    auth: str,
    credentials: str | None,
    drain_timeout: float,
    wait_time_scale: float | None,
    clock_kind: str,
    mock_config: str | None,
    status_events: str | None,
    lease_seconds: float,
) -> None:
    """Serve the Step Functions API, with durable executions, timers and workers.

    Point an SDK at the printed endpoint (boto3: endpoint_url=...; see docs/api.md).
    Executions survive a restart: a server started again on the same --db goes on from
    the last commit. GET /health answers {"status": "ok"} (503 while stopping).
    SIGTERM stops gracefully: no new connections, requests in progress finish.
    Listening beyond this machine (a --host other than loopback) with --auth none
    prints a warning: anyone who reaches the port can run and read executions.
    """
    import os
    import signal
    import threading

    from stepfn.api.server import Server
    from stepfn.api.sigv4 import CredentialsError, SigV4, load_credentials
    from stepfn.service.engine import Engine, StoreError

    verifier = None
    if auth == "sigv4":
        path = credentials or os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
        path = path or os.path.join(os.path.expanduser("~"), ".aws", "credentials")
        try:
            verifier = SigV4(load_credentials(path))
        except CredentialsError as exc:
            raise click.ClickException(f"--auth sigv4: {exc}") from None
    elif credentials:
        raise click.BadParameter("only with --auth sigv4", param_hint="'--credentials'")
    if auth == "none" and not _is_loopback(host):
        click.echo(
            f"warning: listening on {host or 'every address'} without authentication: anyone "
            "who can reach this port can start executions and read their data "
            "(use --auth sigv4, or --host 127.0.0.1)",
            err=True,
        )
    handlers = dict(_load_function(spec) for spec in functions)
    options = _testing_options(wait_time_scale, mock_config, status_events)
    if clock_kind == "virtual":
        from stepfn.clock import ManualClock

        if "clock" in options:
            raise click.BadParameter(
                "a virtual clock moves only when told; leave out --wait-time-scale",
                param_hint="'--clock'",
            )
        options["clock"] = ManualClock()
    try:
        engine = Engine.open(db, functions=handlers, lease_seconds=lease_seconds, **options)
    except StoreError as exc:
        raise click.ClickException(f"cannot open the store {db!r}: {exc}") from None
    except ServiceError as exc:  # a --function whose code cannot be registered
        raise click.ClickException(f"--function: {exc.message}") from None
    from stepfn.console import ChangeFeed, basic_credentials, console_routes

    feed = ChangeFeed(engine)
    engine.on_commit(feed.notify)
    console = console_routes(
        engine,
        token=secrets.token_urlsafe(24),
        authorize=basic_credentials(verifier.keys) if verifier is not None else None,
        feed=feed,
    )
    try:
        http = Server(engine, host, port, auth=verifier, routes=console)
    except OSError as exc:
        engine.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None

    drained = threading.Event()

    def drain() -> None:
        http.drain(drain_timeout)
        drained.set()

    def stop(signum: int, frame: Any) -> None:
        # drain() waits for serve_forever to return, so it must run on another thread.
        if not http.draining:
            threading.Thread(target=drain, name="stepfn-drain", daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    keys = f", {len(verifier.keys)} access keys" if verifier else ""
    missing = ", ".join(http.api.unsupported())
    click.echo(
        f"stepfn server on {http.url} (store: {db}; auth: {auth}{keys}; "
        f"service model: {http.api.model.source}"
        + (f"; not supported yet: {missing})" if missing else ")"),
        err=True,
    )
    # What is alive by now (modules, the service model, the engine and its caches) lives
    # as long as the server: frozen, the cyclic collector no longer walks it in every
    # full collection (a server is a process of its own; a library would not do this).
    gc.collect()
    gc.freeze()
    try:
        http.serve_forever()
        drained.wait()
    finally:
        http.server_close()
        engine.close()
        click.echo("stepfn server stopped", err=True)


def _testing_options(
    scale: float | None, mock_config: str | None, status_events: str | None
) -> dict[str, Any]:
    """The Engine options of ``server --wait-time-scale``, ``--mock-config`` and
    ``--status-events`` (each checked here, so a bad one stops the server before it
    listens)."""
    from stepfn.clock import ScaledClock
    from stepfn.service.engine import MockConfigError, load_mock_config, mock_config_from_env

    options: dict[str, Any] = {}
    if scale is not None and scale != 1:
        try:
            options["clock"] = ScaledClock(scale)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--wait-time-scale'") from None
    try:
        config = load_mock_config(mock_config) if mock_config else mock_config_from_env()
    except MockConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if config is not None:
        options["mock_config"] = config
    if status_events:
        from stepfn.testing.status_events import StatusEvents

        try:
            options["status_events"] = StatusEvents(status_events)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--status-events'") from None
    return options


def _is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (names other than localhost are not
    resolved: they may well name an outside address)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _log_line(message: str) -> str:
    """A log event's message as one line of JSON: execution logs' JSON as it is (compact),
    any other text as a JSON string."""
    try:
        value = json.loads(message)
    except ValueError:
        return json.dumps(message, ensure_ascii=False)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@main.command()
@click.argument("log_group")
@click.option(
    "--db",
    default="stepfn.db",
    show_default=True,
    help="The store of the server (its --db): a SQLite file path.",
)
@click.option("--stream", metavar="NAME", help="Only the events of this log stream.")
@click.option("--execution", metavar="ARN", help="Only the events of this execution.")
def logs(log_group: str, db: str, stream: str | None, execution: str | None) -> None:
    """Print the execution logs in LOG_GROUP, one JSON document per line.

    LOG_GROUP is a log group name or ARN; events come oldest first. State machines whose
    loggingConfiguration names a log group write their executions' events to it; this
    reads them from the store, while a server runs on it or not. Each line is an event's
    message: for execution logs, the JSON record Step Functions writes (id, type, details,
    previous_event_id, event_timestamp, execution_arn, redrive_count). Exits with status
    1 when the log group or stream does not exist.
    """
    from stepfn.errors import ServiceError
    from stepfn.service.engine import Engine, StoreError, log_group_name

    if "://" not in db and db != ":memory:" and not Path(db).expanduser().exists():
        # Opening a path that is not there would create an empty store.
        raise click.ClickException(f"there is no store at {db!r}")
    group = (log_group_name(log_group) or log_group) if log_group.startswith("arn:") else log_group
    try:
        # Read-only: no loop, no recovery, so a server running on the store goes on alone.
        engine = Engine.open(db, read_only=True)
    except StoreError as exc:
        raise click.ClickException(f"cannot open the store {db!r}: {exc}") from None
    try:
        for event in engine.logs.execution_events(group, stream, execution):
            click.echo(_terminal_json(_log_line(event.message)))
    except ServiceError as exc:
        where = f"log group {group!r}" + (f", stream {stream!r}" if stream else "")
        raise click.ClickException(f"{where}: {exc.message}") from None
    finally:
        engine.close()


# --- stepfn function: the Lambda API's clients -------------------------------------------

_DEFAULT_HANDLERS = {"python": "lambda_function.lambda_handler", "nodejs": "index.handler"}


def _zip_code(code: str) -> bytes:
    """``--code``: a zip file's bytes, or a directory zipped in memory."""
    import io
    import zipfile

    path = Path(code).expanduser()
    if path.is_file():
        return path.read_bytes()
    if not path.is_dir():
        raise click.BadParameter(
            f"{code!r} is neither a directory nor a zip file", param_hint="--code"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


class _Lambda:
    """The Lambda operations, over a stepfn endpoint (boto3) or a store (read-only Engine)."""

    def __init__(self, endpoint_url: str | None, db: str | None) -> None:
        self.engine: Any = None
        if endpoint_url:
            import boto3

            self.client: Any = boto3.client(
                "lambda",
                endpoint_url=endpoint_url,
                region_name="us-east-1",
                aws_access_key_id="stepfn",
                aws_secret_access_key="stepfn",
            )
            return
        from stepfn.service.engine import Engine, StoreError

        store = db or "stepfn.db"
        if "://" not in store and store != ":memory:" and not Path(store).expanduser().exists():
            raise click.ClickException(f"there is no store at {store!r}")
        try:
            # Read-only refuses executions only: the control plane writes to the store.
            self.engine = Engine.open(store, read_only=True)
        except StoreError as exc:
            raise click.ClickException(f"cannot open the store {store!r}: {exc}") from None
        self.client = self.engine.functions

    def call(self, operation: str, **params: Any) -> Any:
        """One operation; AWS errors become a one-line message."""
        from botocore.exceptions import ClientError

        from stepfn.errors import ServiceError

        try:
            return getattr(self.client, operation)(**params)
        except ServiceError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise click.ClickException(f"{error.get('Code')}: {error.get('Message')}") from None

    def close(self) -> None:
        """Close the engine, or the client's connections."""
        if self.engine is not None:
            self.engine.close()
        else:
            self.client.close()


def _target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--db", help="Store to open (read-only Engine) when no --endpoint-url is given."
    )(command)
    return click.option(
        "--endpoint-url", metavar="URL", help="A running stepfn server to call (boto3)."
    )(command)


@main.group()
def function() -> None:
    """Lambda functions: create, list, delete and invoke them (the Lambda API's clients)."""


@function.command("create")
@click.argument("name")
@click.option("--code", required=True, metavar="DIR|ZIP", help="The code: a directory or a zip.")
@click.option("--runtime", default="python3.12", show_default=True, help="Lambda runtime.")
@click.option(
    "--handler",
    help="module.function (Python) or file.export (Node); default: Lambda's "
    "lambda_function.lambda_handler or index.handler.",
)
@click.option("--timeout", type=click.IntRange(1, 900), default=3, show_default=True)
@click.option("--env", "env", multiple=True, metavar="K=V", help="An environment variable.")
@_target_options
def function_create(
    name: str,
    code: str,
    runtime: str,
    handler: str | None,
    timeout: int,
    env: tuple[str, ...],
    endpoint_url: str | None,
    db: str | None,
) -> None:
    """Create the function NAME from a directory or zip; prints its configuration."""
    variables = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not K=V", param_hint="--env")
        variables[key] = value
    family = "nodejs" if runtime.startswith("nodejs") else "python"
    target = _Lambda(endpoint_url, db)
    try:
        answer = target.call(
            "create_function",
            FunctionName=name,
            Runtime=runtime,
            Handler=handler or _DEFAULT_HANDLERS[family],
            Role="arn:aws:iam::123456789012:role/stepfn",
            Code={"ZipFile": _zip_code(code)},
            Timeout=timeout,
            Environment={"Variables": variables},
        )
    finally:
        target.close()
    answer.pop("ResponseMetadata", None)
    click.echo(json.dumps(answer, indent=2, default=_json_default))


@function.command("list")
@_target_options
def function_list(endpoint_url: str | None, db: str | None) -> None:
    """Print each function's name, runtime and handler, one a line."""
    target = _Lambda(endpoint_url, db)
    try:
        listed = target.call("list_functions")
    finally:
        target.close()
    for config in listed["Functions"]:
        click.echo(f"{config['FunctionName']}\t{config['Runtime']}\t{config['Handler']}")


@function.command("delete")
@click.argument("name")
@_target_options
def function_delete(name: str, endpoint_url: str | None, db: str | None) -> None:
    """Delete the function NAME with its versions and aliases."""
    target = _Lambda(endpoint_url, db)
    try:
        target.call("delete_function", FunctionName=name)
    finally:
        target.close()


@function.command("invoke")
@click.argument("name")
@click.option("--payload", default="{}", show_default=True, metavar="JSON", help="The event.")
@click.option("--qualifier", help="A version or alias.")
@click.option("--endpoint-url", metavar="URL", required=True, help="A running stepfn server.")
def function_invoke(name: str, payload: str, qualifier: str | None, endpoint_url: str) -> None:
    """Invoke NAME on a server; prints the result (exit status 1 on a function error)."""
    target = _Lambda(endpoint_url, None)
    params: dict[str, Any] = {"FunctionName": name, "Payload": payload.encode()}
    if qualifier:
        params["Qualifier"] = qualifier
    try:
        answer = target.call("invoke", **params)
        body = answer["Payload"]
        data = body if isinstance(body, bytes) else body.read()
    finally:
        target.close()
    click.echo(printable(data.decode("utf-8", "replace")))
    if answer.get("FunctionError"):
        raise SystemExit(1)


@main.command("tf-override")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--endpoint-url",
    required=True,
    help="The stepfn server's endpoint (as `stepfn server` prints it).",
)
@click.option("--region", default="us-east-1", show_default=True, help="The provider's region.")
def tf_override(directory: str, endpoint_url: str, region: str) -> None:
    """Point the real `terraform` at a stepfn server: write DIRECTORY/stepfn_override.tf.

    Terraform merges the override over the configuration, so the .tf files stay as they
    are: the aws provider gets test credentials, the server as its IAM, STS, Lambda, Step
    Functions and CloudWatch Logs endpoint, and the flags that keep it from asking AWS who
    it is. Then `terraform init` (`-plugin-dir DIR` offline) and `terraform apply`. Delete
    the file to deploy to AWS again.
    """
    from stepfn.deploy.tf_override import write_override

    if not endpoint_url.startswith(("http://", "https://")):
        raise click.ClickException(f"--endpoint-url must be an http(s) URL, not {endpoint_url!r}")
    try:
        path = write_override(directory, endpoint_url, region)
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path}")


def _deploy_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--db", default=None, help="Deploy into this store through an in-process server."
    )(command)
    command = click.option("--endpoint-url", default=None, help="The stepfn server to deploy to.")(
        command
    )
    command = click.option(
        "--var",
        "variables",
        multiple=True,
        metavar="NAME=VALUE",
        help="A value for a Terraform variable (repeatable).",
    )(command)
    return click.argument("path", type=click.Path(file_okay=False))(command)


def _deployment(path: str, variables: tuple[str, ...], url: str) -> Any:
    from stepfn.deploy.apply import Deployment, clients_for

    values = {}
    for item in variables:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise click.ClickException(f"--var {item!r}: expected NAME=VALUE")
        values[name] = text
    return Deployment(path, clients_for(url), values, report=click.echo)


def _run_deploy(
    path: str, variables: tuple[str, ...], endpoint_url: str | None, db: str | None, undo: bool
) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from stepfn.deploy.apply import endpoint
    from stepfn.deploy.config import DeployError

    if endpoint_url is not None and db is not None:
        raise click.ClickException("give --endpoint-url or --db, not both")
    try:
        with endpoint(endpoint_url, db) as url:
            deployment = _deployment(path, variables, url)
            if undo:
                removed = deployment.destroy()
                click.echo(f"destroyed {len(removed)} resources")
            else:
                state = deployment.deploy()
                click.echo(f"deployed {len(state['resources'])} resources from {path}")
    except DeployError as exc:
        raise click.ClickException(str(exc)) from None
    except (ClientError, BotoCoreError) as exc:
        raise click.ClickException(f"the server refused: {exc}") from None


@main.command()
@_deploy_options
def deploy(path: str, variables: tuple[str, ...], endpoint_url: str | None, db: str | None) -> None:
    """Deploy the Terraform files of PATH onto a stepfn server, without terraform.

    Reads the .tf files (python-hcl2): aws_sfn_state_machine, aws_lambda_function (zip
    filename, or archive_file data sources), aws_iam_role, aws_iam_policy,
    aws_iam_role_policy_attachment, aws_iam_role_policy, aws_sfn_activity,
    aws_cloudwatch_log_group, variable and locals; provider blocks are ignored and
    anything else is listed as skipped. Talks to --endpoint-url, or with --db starts a
    server over that store for the duration. Deploying again updates in place; what was
    made is kept in PATH/.stepfn-deploy.json for `stepfn destroy`.
    """
    _run_deploy(path, variables, endpoint_url, db, undo=False)


@main.command()
@_deploy_options
def destroy(
    path: str, variables: tuple[str, ...], endpoint_url: str | None, db: str | None
) -> None:
    """Remove what `stepfn deploy PATH` made (as PATH/.stepfn-deploy.json records it)."""
    _run_deploy(path, variables, endpoint_url, db, undo=True)
