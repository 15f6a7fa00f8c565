"""``stepfn deploy`` and ``stepfn destroy``: Terraform files applied through the server's
APIs with boto3 clients (IAM, Lambda, Step Functions, CloudWatch Logs).

References between resources are resolved from what each resource's name makes known
(an IAM role's ARN is ``arn:aws:iam::ACCOUNT:role/NAME``), so the resources are created in
a fixed order of kinds: log groups, roles, policies, attachments and inline policies,
functions, activities, state machines; destroyed in the reverse order. A second deploy
updates what changed in place (a state machine that publishes gets a new version when its
definition changed). What was made is kept in ``.stepfn-deploy.json`` beside the files,
which ``destroy`` reads.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stepfn.deploy.config import Block, Config, DeployError, load, value
from stepfn.deploy.expressions import ExpressionError

STATE_FILE = ".stepfn-deploy.json"
ORDER = (
    "aws_cloudwatch_log_group",
    "aws_iam_role",
    "aws_iam_policy",
    "aws_iam_role_policy_attachment",
    "aws_iam_role_policy",
    "aws_lambda_function",
    "aws_sfn_activity",
    "aws_sfn_state_machine",
)
NAME_ATTRIBUTE = {
    "aws_cloudwatch_log_group": "name",
    "aws_iam_role": "name",
    "aws_iam_policy": "name",
    "aws_lambda_function": "function_name",
    "aws_sfn_activity": "name",
    "aws_sfn_state_machine": "name",
}

Report = Callable[[str], None]


class Deployment:
    """One folder's configuration against one endpoint."""

    def __init__(
        self,
        folder: str | Path,
        clients: Callable[[str], Any],
        variables: dict[str, str] | None = None,
        report: Report = print,
    ) -> None:
        self.config: Config = load(folder)
        self.client = clients
        self.variables = dict(variables or {})
        self.report = report
        self.region = "us-east-1"
        self.account = "123456789012"
        self._locals: dict[str, Any] = {}
        self._resolving: set[str] = set()
        self.blocks = {b.address: b for b in self.config.blocks}
        unknown = set(self.variables) - set(self.config.variables)
        if unknown:
            raise DeployError(f"--var {sorted(unknown)[0]}: no such variable in the files")

    # --- references ---------------------------------------------------------------------

    def resolve(self, parts: list[str]) -> Any:
        """The value a reference names."""
        head = parts[0]
        if head == "var":
            name = parts[1] if len(parts) > 1 else ""
            if name in self.variables:
                found: Any = self.variables[name]
            elif name in self.config.variables and self.config.variables[name] is not None:
                found = self._raw(self.config.variables[name])
            else:
                raise ExpressionError(f"the variable var.{name} has no value (pass --var)")
            return _attributes(found, parts[2:])
        if head == "local":
            return _attributes(self._local(parts[1] if len(parts) > 1 else ""), parts[2:])
        if head == "path":
            return str(self.config.folder)
        if head == "data":
            address = ".".join(parts[:3])
            rest = parts[3:]
        else:
            address = ".".join(parts[:2])
            rest = parts[2:]
        block = self.blocks.get(address)
        if block is None:
            raise ExpressionError(f"reference to an undeclared resource {address}")
        return _attributes(self.known(block), rest)

    def _raw(self, text: Any) -> Any:
        from stepfn.deploy.expressions import evaluate

        return evaluate(text, self.resolve, self.config.folder)

    def _local(self, name: str) -> Any:
        if name in self._locals:
            return self._locals[name]
        if name not in self.config.locals:
            raise ExpressionError(f"there is no local.{name}")
        if name in self._resolving:
            raise ExpressionError(f"local.{name} refers to itself")
        self._resolving.add(name)
        try:
            self._locals[name] = self._raw(self.config.locals[name])
        finally:
            self._resolving.discard(name)
        return self._locals[name]

    def attr(self, block: Block, name: str, default: Any = None) -> Any:
        """An attribute of ``block``, evaluated."""
        return value(block, name, self.resolve, default)

    def need(self, block: Block, name: str) -> Any:
        """A required attribute of ``block``."""
        found = self.attr(block, name)
        if found is None:
            raise DeployError(f"{block.where()}: the attribute {name} is required")
        return found

    def known(self, block: Block) -> dict[str, Any]:
        """What a resource's attributes are once made (ARNs follow from names)."""
        if block.address in self._resolving:
            raise DeployError(f"{block.where()}: refers to itself")
        self._resolving.add(block.address)
        try:
            return self._known(block)
        finally:
            self._resolving.discard(block.address)

    def _known(self, block: Block) -> dict[str, Any]:
        account, region = self.account, self.region
        if block.type == "archive_file":
            return self._archive(block)
        name_attribute = NAME_ATTRIBUTE.get(block.type)
        name = self.need(block, name_attribute) if name_attribute else None
        if block.type == "aws_iam_role":
            path = self.attr(block, "path", "/")
            arn = f"arn:aws:iam::{account}:role{path}{name}"
            return {"name": name, "id": name, "arn": arn, "unique_id": name}
        if block.type == "aws_iam_policy":
            path = self.attr(block, "path", "/")
            arn = f"arn:aws:iam::{account}:policy{path}{name}"
            return {"name": name, "id": arn, "arn": arn}
        if block.type == "aws_lambda_function":
            arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
            invoke = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}"
            return {
                "function_name": name,
                "id": name,
                "arn": arn,
                "qualified_arn": f"{arn}:$LATEST",
                "invoke_arn": f"{invoke}/invocations",
                "version": "$LATEST",
            }
        if block.type == "aws_sfn_state_machine":
            arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
            return {"name": name, "id": arn, "arn": arn}
        if block.type == "aws_sfn_activity":
            arn = f"arn:aws:states:{region}:{account}:activity:{name}"
            return {"name": name, "id": arn, "arn": arn}
        if block.type == "aws_cloudwatch_log_group":
            arn = f"arn:aws:logs:{region}:{account}:log-group:{name}"
            return {"name": name, "id": name, "arn": arn}
        raise DeployError(f"{block.where()}: stepfn deploy does not make {block.type}")

    def _archive(self, block: Block) -> dict[str, Any]:
        """``data "archive_file"``: the zip is built when first referenced."""
        import base64
        import hashlib

        if self.attr(block, "type", "zip") != "zip":
            raise DeployError(f'{block.where()}: only type = "zip" archives are supported')
        output = self.config.folder / str(self.need(block, "output_path"))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            source_dir = self.attr(block, "source_dir")
            source_file = self.attr(block, "source_file")
            if source_dir is not None:
                root = self.config.folder / str(source_dir)
                if not root.is_dir():
                    raise DeployError(f"{block.where()}: source_dir {source_dir}: no such folder")
                for path in sorted(root.rglob("*")):
                    if path.is_file():
                        info = zipfile.ZipInfo(str(path.relative_to(root)), (1980, 1, 1, 0, 0, 0))
                        info.external_attr = 0o644 << 16
                        archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
            elif source_file is not None:
                path = self.config.folder / str(source_file)
                if not path.is_file():
                    raise DeployError(f"{block.where()}: source_file {source_file}: no such file")
                archive.write(path, path.name)
            else:
                raise DeployError(f"{block.where()}: needs source_dir or source_file")
        data = buffer.getvalue()
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
        digest = hashlib.sha256(data).digest()
        return {
            "output_path": str(output),
            "output_base64sha256": base64.b64encode(digest).decode(),
            "output_md5": hashlib.md5(data).hexdigest(),
            "output_size": len(data),
        }

    # --- deploy and destroy -------------------------------------------------------------

    def _state_path(self) -> Path:
        return self.config.folder / STATE_FILE

    def _state(self) -> dict[str, Any]:
        path = self._state_path()
        if not path.exists():
            return {"resources": {}}
        try:
            state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise DeployError(f"{path.name}: not JSON (delete it to start over)") from None
        return state

    def _save(self, state: dict[str, Any]) -> None:
        self._state_path().write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    def _identity(self) -> None:
        identity = self.client("sts").get_caller_identity()
        self.account = identity["Account"]
        self.region = self.client("sts").meta.region_name

    def ordered(self) -> list[Block]:
        """The resources deploy makes, in the order it makes them; the rest reported."""
        chosen = []
        for block in self.config.blocks:
            supported = ORDER if block.kind == "resource" else ("archive_file",)
            if block.type not in supported:
                self.report(f"skipped {block.where()}: stepfn deploy does not make {block.type}")
            elif block.kind == "resource":
                chosen.append(block)
        return sorted(chosen, key=lambda b: ORDER.index(b.type))

    def check(self, block: Block) -> None:
        """Evaluate every attribute of ``block`` and check what it names exists: an
        undefined reference, a missing zip or a definition that is not JSON, or whose
        Task Resource is not an ARN, is refused before anything is made."""
        for attribute in block.body:
            if not attribute.startswith("__"):
                self.attr(block, attribute)
        if block.type == "aws_lambda_function":
            filename = self.need(block, "filename")
            path = Path(filename) if Path(filename).is_absolute() else block.file.parent / filename
            if not path.is_file():
                raise DeployError(f"{block.where()}: filename {filename}: no such file")
        if block.type == "aws_sfn_state_machine":
            text = self.need(block, "definition")
            try:
                definition = json.loads(text) if isinstance(text, str) else text
            except ValueError as exc:
                raise DeployError(f"{block.where()}: definition: not JSON: {exc}") from None
            for where, resource in _task_resources(definition, "/States"):
                if not isinstance(resource, str) or not resource.startswith("arn:"):
                    raise DeployError(
                        f"{block.where()}: definition: {where}/Resource: {resource!r} is not "
                        "an ARN (an unresolved reference?); AWS refuses it: Value is not a "
                        "valid resource ARN"
                    )

    def deploy(self) -> dict[str, Any]:
        """Create or update every resource; the state written."""
        from stepfn.deploy.resources import APPLY

        self._identity()
        blocks = self.ordered()
        for block in blocks:
            self.check(block)  # every mistake found before anything is made
        state = self._state()
        made: dict[str, Any] = state.setdefault("resources", {})
        for block in blocks:
            record = APPLY[block.type](self, block)
            made[block.address] = {"type": block.type, **record}
            self._save(state)
        return state

    def destroy(self) -> list[str]:
        """Delete what the state file says deploy made; the addresses removed."""
        from stepfn.deploy.resources import DESTROY

        state = self._state()
        made: dict[str, Any] = state.get("resources", {})
        removed = []
        for address, record in sorted(made.items(), key=lambda item: -ORDER.index(item[1]["type"])):
            DESTROY[record["type"]](self, record)
            removed.append(address)
            self.report(f"destroyed {address}")
        self._state_path().unlink(missing_ok=True)
        return removed


def _task_resources(definition: Any, where: str) -> Iterator[tuple[str, Any]]:
    """(location, Resource) of every Task, in branches and item processors too."""
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            yield f"{where}/{name}", state.get("Resource")
        for index, branch in enumerate(state.get("Branches") or ()):
            yield from _task_resources(branch, f"{where}/{name}/Branches/{index}/States")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _task_resources(state[key], f"{where}/{name}/{key}/States")


def _attributes(found: Any, rest: list[str]) -> Any:
    for part in rest:
        if not isinstance(found, dict) or part not in found:
            raise ExpressionError(f"no attribute {part!r}")
        found = found[part]
    return found


@contextmanager
def endpoint(endpoint_url: str | None, db: str | None) -> Iterator[str]:
    """The URL to deploy to: ``endpoint_url``, or an in-process server over ``db`` on a
    free port for the duration."""
    if endpoint_url is not None:
        yield endpoint_url
        return
    from stepfn.api.server import Server
    from stepfn.service.engine import Engine

    engine = Engine.open(db or "stepfn.db")
    server = Server(engine, "127.0.0.1", 0)
    server.start_background()
    try:
        yield server.url
    finally:
        server.drain(10)
        engine.close()


def clients_for(url: str, region: str = "us-east-1") -> Callable[[str], Any]:
    """Makes boto3 clients of a service for ``url`` (test credentials; one attempt)."""
    import boto3
    from botocore.config import Config as BotoConfig

    made: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in made:
            made[service] = boto3.client(
                service,
                endpoint_url=url,
                region_name=region,
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=BotoConfig(
                    retries={"max_attempts": 2, "mode": "standard"}, inject_host_prefix=False
                ),
            )
        return made[service]

    return client
