"""Lambda functions as a service: the Lambda API's operations over a durable registry.

Functions live in the store (``functions`` and ``function_aliases``): a version's
configuration as JSON and where its unpacked code is. Code zips are unpacked into a code
directory (beside the database, or a temporary one for an in-memory store), in a folder
named after the zip's SHA-256, so a server reopening the store finds the code again.

The methods are named as boto3's Lambda client names them and take its keyword
arguments; errors are Lambda's (``ResourceNotFoundException`` 404,
``ResourceConflictException`` 409, ``InvalidParameterValueException`` 400, each with
``Type: User``). ``lookup`` is what the ``LambdaFunctions`` task adapter is given, so
Tasks run the functions registered here; invocation logs go to CloudWatch Logs
(``/aws/lambda/NAME``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stepfn.clock import Clock, IdSource
from stepfn.errors import ServiceError
from stepfn.functions.code import CodeError, prepare_code
from stepfn.functions.local import FunctionCode, FunctionSpecError
from stepfn.functions.model import LATEST, FunctionConfig, FunctionConfigError
from stepfn.functions.pool import FunctionRuntime
from stepfn.functions.results import InvocationResult
from stepfn.service.function_errors import invalid, lambda_error, not_found
from stepfn.service.function_invoke import start_invoke
from stepfn.service.function_listing import MarkerError, in_order, page
from stepfn.service.function_logs import FunctionLogs
from stepfn.service.function_policies import FunctionPolicies
from stepfn.store.sql_functions import FunctionAliasRow, FunctionRow, SqlFunctions

# How long a looked-up configuration is trusted: changes made through this service
# clear it at once; one made by another process on the same store shows within this,
# as Lambda's own changes take a moment to reach every invoker.
LOOKUP_SECONDS = 1.0


def _iso(seconds: float) -> str:
    # Lambda's LastModified: 2024-01-01T00:00:00.000+0000
    stamp = datetime.fromtimestamp(seconds, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


def _config_json(config: FunctionConfig) -> str:
    return json.dumps(dataclasses.asdict(config), sort_keys=True)


def _config_of(row: FunctionRow) -> FunctionConfig:
    values = json.loads(row.config)
    return FunctionConfig(**values)


class Functions:
    """Lambda's control plane and Invoke, over the store.

    Args:
        store: a SQL store (it has the function tables).
        clock: dates LastModified and log events.
        ids: request ids.
        code_dir: where code zips are unpacked.
        runtime: the warm pools that run invocations (shared with the task adapter).
    """

    def __init__(
        self,
        store: SqlFunctions,
        clock: Clock,
        ids: IdSource,
        code_dir: Path,
        runtime: FunctionRuntime,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.code_dir = code_dir
        self.runtime = runtime
        self.region = region
        self.account = account
        self._lock = threading.Lock()  # publish: read-then-write of the version counter
        # (name, qualifier) -> (configuration or None, monotonic time it is good until).
        self._lookups: dict[tuple[str, str], tuple[FunctionConfig | None, float]] = {}
        self.logs = FunctionLogs(store, clock)
        self.policies = FunctionPolicies(self)

    # --- lookups ------------------------------------------------------------------------

    def lookup(self, name: str, qualifier: str | None = None) -> FunctionConfig | None:
        """The configuration a name and qualifier (version or alias) name, or None.

        Cached for ``LOOKUP_SECONDS`` (a Task's every invocation asks): a change through
        this service shows at once."""
        if qualifier in (None, ""):
            qualifier = LATEST
        assert qualifier is not None
        key = (name, qualifier)
        now = time.monotonic()
        cached = self._lookups.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        config = self._lookup(self._name(name), qualifier)
        if len(self._lookups) > 4096:
            self._lookups.clear()
        self._lookups[key] = (config, now + LOOKUP_SECONDS)
        return config

    def _changed(self) -> None:
        """Forget the cached lookups (a function, version or alias changed)."""
        self._lookups.clear()

    def _lookup(self, name: str, qualifier: str) -> FunctionConfig | None:
        row = self.store.get_function_version(name, qualifier)
        if row is None:
            alias = self.store.get_function_alias(name, qualifier)
            if alias is None:
                return None
            row = self.store.get_function_version(name, alias.version)
            if row is None:
                return None
        return _config_of(row)

    def _name(self, name: str) -> str:
        """A function name from a name, a partial or a full ARN (qualifier dropped)."""
        if name.startswith("arn:"):
            parts = name.split(":")
            return parts[6] if len(parts) > 6 else name
        return name.split(":", 1)[0]

    def _split(self, name: str, qualifier: str | None) -> tuple[str, str | None]:
        if name.startswith("arn:"):
            parts = name.split(":")
            if len(parts) > 7 and not qualifier:
                qualifier = parts[7]
            return (parts[6] if len(parts) > 6 else name), qualifier
        if ":" in name:
            base, _, q = name.partition(":")
            return base, qualifier or q
        return name, qualifier

    def _require(self, name: str, qualifier: str | None = None) -> FunctionConfig:
        base, qualifier = self._split(name, qualifier)
        config = self.lookup(base, qualifier)
        if config is None:
            arn = self._arn(base, qualifier)
            raise not_found(f"Function not found: {arn}")
        return config

    def _arn(self, name: str, qualifier: str | None = None) -> str:
        base = f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        return f"{base}:{qualifier}" if qualifier else base

    def describe(self, config: FunctionConfig) -> dict[str, Any]:
        """Lambda's ``FunctionConfiguration`` of a version."""
        shape = config.describe(self.region, self.account)
        shape["RevisionId"] = config.code_sha256[:8] + config.last_modified[-8:]
        shape["TracingConfig"] = {"Mode": "PassThrough"}
        shape["EphemeralStorage"] = {"Size": 512}
        shape["SnapStart"] = {"ApplyOn": "None", "OptimizationStatus": "Off"}
        shape["LoggingConfig"] = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{config.name}"}
        return shape

    # --- control plane ----------------------------------------------------------------

    def _code(self, Code: dict[str, Any]) -> tuple[str, str, int]:
        if not isinstance(Code, dict):
            raise invalid("Code must be an object")
        if "ImageUri" in Code:
            raise invalid(
                "Container images (Code.ImageUri) are not supported by stepfn: "
                "give the code as Code.ZipFile"
            )
        if "S3Bucket" in Code or "S3Key" in Code:
            raise invalid("Code from S3 is not supported by stepfn: give Code.ZipFile")
        data = Code.get("ZipFile")
        if isinstance(data, str):
            data = base64.b64decode(data)
        if not isinstance(data, bytes | bytearray) or not data:
            raise invalid("Code.ZipFile is required (the bytes of a zip file)")
        try:
            code = prepare_code(bytes(data), self.code_dir)
        except CodeError as exc:
            raise invalid(f"Could not unzip uploaded file: {exc}") from exc
        return code.path, code.sha256, code.size

    def _build(self, current: FunctionConfig | None, **fields: Any) -> FunctionConfig:
        try:
            if current is None:
                return FunctionConfig(**fields)
            return dataclasses.replace(current, **fields)
        except FunctionConfigError as exc:
            raise invalid(str(exc)) from exc
        except TypeError as exc:
            raise invalid(f"Invalid parameter: {exc}") from exc

    def _fields(self, params: dict[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        mapping = {
            "Runtime": "runtime",
            "Handler": "handler",
            "Timeout": "timeout",
            "MemorySize": "memory_size",
            "Description": "description",
            "Role": "role",
        }
        for key, attr in mapping.items():
            if params.get(key) is not None:
                fields[attr] = params[key]
        env = params.get("Environment")
        if env is not None:
            fields["environment"] = dict((env or {}).get("Variables") or {})
        return fields

    def _store(self, config: FunctionConfig, created: float | None = None) -> None:
        self._changed()
        now = self.clock.now()
        self.store.put_function_version(
            FunctionRow(
                config.name,
                config.version,
                _config_json(config),
                config.code_sha256,
                config.code_size,
                config.code_path,
                created if created is not None else now,
                now,
            )
        )

    def create_function(
        self,
        FunctionName: str,
        Code: dict[str, Any],
        Role: str = "",
        Runtime: str | None = None,
        Handler: str | None = None,
        Publish: bool = False,
        Tags: dict[str, str] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """CreateFunction (zip code only)."""
        if params.get("PackageType") == "Image":
            raise invalid("PackageType Image is not supported by stepfn: use Zip")
        if Runtime is None:
            raise invalid("Runtime is required for a function of Zip package type")
        if Handler is None:
            raise invalid("Handler is required for a function of Zip package type")
        if self.store.get_function_version(FunctionName, LATEST) is not None:
            raise lambda_error(
                "ResourceConflictException",
                f"Function already exist: {FunctionName}",
                409,
            )
        path, sha, size = self._code(Code)
        config = self._build(
            None,
            name=FunctionName,
            code_path=path,
            code_sha256=sha,
            code_size=size,
            last_modified=_iso(self.clock.now()),
            **self._fields({**params, "Runtime": Runtime, "Handler": Handler, "Role": Role}),
        )
        self._store(config)
        if Tags:
            self.store.set_tags(self._arn(FunctionName), dict(Tags))
        if Publish:
            return self.publish_version(FunctionName=FunctionName)
        return self.describe(config)

    def get_function_configuration(
        self, FunctionName: str, Qualifier: str | None = None
    ) -> dict[str, Any]:
        """GetFunctionConfiguration."""
        return self.describe(self._require(FunctionName, Qualifier))

    def get_function(self, FunctionName: str, Qualifier: str | None = None) -> dict[str, Any]:
        """GetFunction: the configuration, where the code is, the tags."""
        config = self._require(FunctionName, Qualifier)
        return {
            "Configuration": self.describe(config),
            "Code": {"RepositoryType": "Local", "Location": Path(config.code_path).as_uri()},
            "Tags": self.store.get_tags(self._arn(config.name)),
        }

    def list_functions(
        self,
        Marker: str | None = None,
        MaxItems: int | None = None,
        FunctionVersion: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """ListFunctions: every function's ``$LATEST`` (every version with
        ``FunctionVersion=ALL``), by name, a page of ``MaxItems`` (default 50) at a time."""
        if FunctionVersion not in (None, "ALL"):
            raise invalid(f"FunctionVersion {FunctionVersion!r} must be ALL")
        rows = self.store.list_functions_latest()
        if FunctionVersion == "ALL":
            rows = [
                v for row in rows for v in in_order(self.store.list_function_versions(row.name))
            ]
        found, marker = _paged(rows, Marker, MaxItems)
        answer: dict[str, Any] = {"Functions": [self.describe(_config_of(row)) for row in found]}
        if marker:
            answer["NextMarker"] = marker
        return answer

    def update_function_code(
        self, FunctionName: str, Publish: bool = False, **params: Any
    ) -> dict[str, Any]:
        """UpdateFunctionCode (``ZipFile``)."""
        current = self._require(FunctionName)
        code = {k: v for k, v in params.items() if k in ("ZipFile", "ImageUri", "S3Bucket")}
        path, sha, size = self._code(code)
        config = self._build(
            current,
            code_path=path,
            code_sha256=sha,
            code_size=size,
            last_modified=_iso(self.clock.now()),
        )
        self._store(config)
        if Publish:
            return self.publish_version(FunctionName=config.name)
        return self.describe(config)

    def update_function_configuration(self, FunctionName: str, **params: Any) -> dict[str, Any]:
        """UpdateFunctionConfiguration."""
        current = self._require(FunctionName)
        config = self._build(current, last_modified=_iso(self.clock.now()), **self._fields(params))
        self._store(config)
        return self.describe(config)

    def delete_function(self, FunctionName: str, Qualifier: str | None = None) -> dict[str, Any]:
        """DeleteFunction: the function, or one published version."""
        name, qualifier = self._split(FunctionName, Qualifier)
        self._require(name)
        self._changed()
        if qualifier in (None, LATEST):
            self.store.delete_function(name)
            self.store.remove_tags(self._arn(name), self.store.get_tags(self._arn(name)))
        else:
            assert qualifier is not None
            if self.store.get_function_version(name, qualifier) is None:
                raise not_found(f"Function not found: {self._arn(name, qualifier)}")
            self.store.delete_function(name, qualifier)
        return {}

    def publish_version(
        self, FunctionName: str, Description: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """PublishVersion: ``$LATEST`` as the next number, unless unchanged since the last."""
        name = self._name(FunctionName)
        with self._lock:
            latest_row = self.store.get_function_version(name, LATEST)
            if latest_row is None:
                raise not_found(f"Function not found: {self._arn(name)}")
            latest = _config_of(latest_row)
            for row in self.store.list_function_versions(name):
                if row.version == LATEST:
                    continue
                published = _config_of(row)
                if published.code_sha256 == latest.code_sha256 and dataclasses.replace(
                    published, version=LATEST, description=latest.description
                ) == dataclasses.replace(latest, last_modified=published.last_modified):
                    return self.describe(published)
            number = latest_row.last_published + 1
            config = dataclasses.replace(
                latest,
                version=str(number),
                description=latest.description if Description is None else Description,
            )
            now = self.clock.now()
            self._changed()
            self.store.publish_function_version(
                name,
                FunctionRow(
                    name,
                    config.version,
                    _config_json(config),
                    config.code_sha256,
                    config.code_size,
                    config.code_path,
                    now,
                    now,
                ),
            )
        return self.describe(config)

    def list_versions_by_function(
        self,
        FunctionName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """ListVersionsByFunction: ``$LATEST`` then the numbers in order, paged."""
        name = self._name(FunctionName)
        self._require(name)
        rows = in_order(self.store.list_function_versions(name))
        found, marker = _paged(rows, Marker, MaxItems)
        answer: dict[str, Any] = {"Versions": [self.describe(_config_of(row)) for row in found]}
        if marker:
            answer["NextMarker"] = marker
        return answer

    # --- aliases ----------------------------------------------------------------------

    def _alias_shape(self, row: FunctionAliasRow) -> dict[str, Any]:
        return {
            "AliasArn": self._arn(row.name, row.alias),
            "Name": row.alias,
            "FunctionVersion": row.version,
            "Description": row.description,
            "RevisionId": row.revision_id,
        }

    def create_alias(
        self, FunctionName: str, Name: str, FunctionVersion: str, Description: str = "", **_: Any
    ) -> dict[str, Any]:
        """CreateAlias."""
        name = self._name(FunctionName)
        self._require(name, FunctionVersion)
        if self.store.get_function_alias(name, Name) is not None:
            raise lambda_error(
                "ResourceConflictException", f"Alias already exists: {self._arn(name, Name)}", 409
            )
        if Name.isdigit() or Name == LATEST:
            raise invalid(f"Alias name {Name!r} must not be a version number")
        row = FunctionAliasRow(name, Name, FunctionVersion, Description, self.ids.uuid())
        self._changed()
        self.store.put_function_alias(row)
        return self._alias_shape(row)

    def _alias(self, FunctionName: str, Name: str) -> FunctionAliasRow:
        name = self._name(FunctionName)
        self._require(name)
        row = self.store.get_function_alias(name, Name)
        if row is None:
            raise not_found(f"Cannot find alias arn: {self._arn(name, Name)}")
        return row

    def get_alias(self, FunctionName: str, Name: str) -> dict[str, Any]:
        """GetAlias."""
        return self._alias_shape(self._alias(FunctionName, Name))

    def update_alias(
        self,
        FunctionName: str,
        Name: str,
        FunctionVersion: str | None = None,
        Description: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """UpdateAlias."""
        row = self._alias(FunctionName, Name)
        if FunctionVersion is not None:
            self._require(row.name, FunctionVersion)
        row = FunctionAliasRow(
            row.name,
            row.alias,
            FunctionVersion or row.version,
            row.description if Description is None else Description,
            self.ids.uuid(),
        )
        self._changed()
        self.store.put_function_alias(row)
        return self._alias_shape(row)

    def delete_alias(self, FunctionName: str, Name: str) -> dict[str, Any]:
        """DeleteAlias (a missing alias is not an error, as in Lambda)."""
        name = self._name(FunctionName)
        self._require(name)
        self._changed()
        self.store.delete_function_alias(name, Name)
        self.store.remove_function_policy(name, Name)  # an alias's permissions go with it
        return {}

    def list_aliases(
        self,
        FunctionName: str,
        FunctionVersion: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """ListAliases (of one version with ``FunctionVersion``), by name, paged."""
        name = self._name(FunctionName)
        self._require(name)
        rows = self.store.list_function_aliases(name)
        if FunctionVersion:
            rows = [r for r in rows if r.version == FunctionVersion]
        found, marker = _paged(rows, Marker, MaxItems)
        answer: dict[str, Any] = {"Aliases": [self._alias_shape(r) for r in found]}
        if marker:
            answer["NextMarker"] = marker
        return answer

    # --- tags ---------------------------------------------------------------------------

    def _tagged(self, Resource: str) -> str:
        name = self._name(Resource)
        self._require(name)
        return self._arn(name)

    def tag_resource(self, Resource: str, Tags: dict[str, str]) -> dict[str, Any]:
        """TagResource."""
        self.store.set_tags(self._tagged(Resource), dict(Tags))
        return {}

    def untag_resource(self, Resource: str, TagKeys: list[str]) -> dict[str, Any]:
        """UntagResource."""
        self.store.remove_tags(self._tagged(Resource), TagKeys)
        return {}

    def list_tags(self, Resource: str) -> dict[str, Any]:
        """ListTags."""
        return {"Tags": self.store.get_tags(self._tagged(Resource))}

    # --- what Terraform reads after creating a function ---------------------------------

    def get_function_code_signing_config(self, FunctionName: str) -> dict[str, Any]:
        """GetFunctionCodeSigningConfig: none (an empty ARN, as Lambda answers)."""
        config = self._require(FunctionName)
        return {"CodeSigningConfigArn": "", "FunctionName": config.name}

    # --- resource policies (service/function_policies.py) ------------------------------

    def add_permission(self, FunctionName: str, **params: Any) -> dict[str, Any]:
        """AddPermission (see ``FunctionPolicies.add``)."""
        return self.policies.add(FunctionName, **params)

    def remove_permission(
        self, FunctionName: str, StatementId: str, Qualifier: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """RemovePermission (see ``FunctionPolicies.remove``)."""
        return self.policies.remove(FunctionName, StatementId, Qualifier)

    def get_policy(self, FunctionName: str, Qualifier: str | None = None) -> dict[str, Any]:
        """GetPolicy (see ``FunctionPolicies.get``)."""
        return self.policies.get(FunctionName, Qualifier)

    def get_function_concurrency(self, FunctionName: str) -> dict[str, Any]:
        """GetFunctionConcurrency."""
        config = self._require(FunctionName)
        if config.reserved_concurrency is None:
            return {}
        return {"ReservedConcurrentExecutions": config.reserved_concurrency}

    def put_function_concurrency(
        self, FunctionName: str, ReservedConcurrentExecutions: int
    ) -> dict[str, Any]:
        """PutFunctionConcurrency."""
        current = self._require(FunctionName)
        self._store(self._build(current, reserved_concurrency=ReservedConcurrentExecutions))
        return {"ReservedConcurrentExecutions": ReservedConcurrentExecutions}

    def delete_function_concurrency(self, FunctionName: str) -> dict[str, Any]:
        """DeleteFunctionConcurrency."""
        current = self._require(FunctionName)
        self._store(self._build(current, reserved_concurrency=None))
        return {}

    def get_function_url_config(
        self, FunctionName: str, Qualifier: str | None = None
    ) -> dict[str, Any]:
        """GetFunctionUrlConfig: stepfn serves no function URLs."""
        self._require(FunctionName, Qualifier)
        raise not_found("The resource you requested does not exist.")

    def get_function_event_invoke_config(
        self, FunctionName: str, Qualifier: str | None = None
    ) -> dict[str, Any]:
        """GetFunctionEventInvokeConfig: none configured."""
        config = self._require(FunctionName, Qualifier)
        raise not_found(
            f"The function {self._arn(config.name, Qualifier or LATEST)} doesn't have an "
            "EventInvokeConfig"
        )

    def get_runtime_management_config(
        self, FunctionName: str, Qualifier: str | None = None
    ) -> dict[str, Any]:
        """GetRuntimeManagementConfig: runtimes are updated automatically."""
        config = self._require(FunctionName, Qualifier)
        return {"UpdateRuntimeOn": "Auto", "FunctionArn": self._arn(config.name)}

    def get_account_settings(self) -> dict[str, Any]:
        """GetAccountSettings."""
        count = len(self.store.list_functions_latest())
        return {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": 1000,
                "UnreservedConcurrentExecutions": 1000,
            },
            "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": count},
        }

    # --- Invoke -------------------------------------------------------------------------

    def invoke(
        self,
        FunctionName: str,
        Payload: bytes | str = b"",
        InvocationType: str = "RequestResponse",
        LogType: str = "None",
        Qualifier: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Invoke: run the function; ``Payload`` of the answer is bytes.

        ``Event`` returns at once (202) and runs the function in the background;
        ``DryRun`` only checks that it exists (204)."""
        finished = threading.Event()
        box: list[dict[str, Any] | ServiceError] = []

        def done(answer: dict[str, Any] | ServiceError) -> None:
            box.append(answer)
            finished.set()

        self.start_invoke(
            done,
            FunctionName=FunctionName,
            Payload=Payload,
            InvocationType=InvocationType,
            LogType=LogType,
            Qualifier=Qualifier,
        )
        finished.wait()
        if isinstance(box[0], ServiceError):
            raise box[0]
        return box[0]

    def start_invoke(
        self, done: Callable[[dict[str, Any] | ServiceError], None], **params: Any
    ) -> None:
        """Invoke without waiting (see ``function_invoke.start_invoke``)."""
        start_invoke(self, done, **params)

    def _record(self, result: InvocationResult, config: FunctionConfig) -> None:
        """Write an invocation's log to ``/aws/lambda/NAME`` (soon after, in the
        background: see ``FunctionLogs``)."""
        self.logs.record(result, config)

    def register_code(self, name: str, code: FunctionCode) -> dict[str, Any]:
        """Create the function ``name`` from its code (a directory or a zip), or replace
        its ``$LATEST``: what ``--function NAME=PATH`` does on a server.

        Raises:
            ServiceError: InvalidParameterValueException, saying what is wrong with the
                code, runtime or handler.
        """
        try:
            config = code.config(name, self.code_dir)
        except FunctionSpecError as exc:
            raise invalid(f"Function '{name}': {exc}") from exc
        current = self.lookup(name)
        config = dataclasses.replace(
            config,
            role=current.role if current is not None else "",
            last_modified=_iso(self.clock.now()),
        )
        self._store(config)
        return self.describe(config)

    def close(self) -> None:
        """Stop the warm workers, then write the last logs."""
        self.runtime.close()
        self.logs.close()


def _paged(
    items: list[Any], marker: str | None, max_items: int | None
) -> tuple[list[Any], str | None]:
    """One page of a listing; a bad Marker or MaxItems is InvalidParameterValueException."""
    try:
        return page(items, marker, max_items)
    except MarkerError as exc:
        raise invalid(str(exc)) from None


def function_code_dir(store: object) -> Path:
    """Where a store's functions' code is unpacked: ``NAME.code`` beside a SQLite file,
    else a temporary directory of this process."""
    path = getattr(store, "path", None)
    if isinstance(path, str) and path not in (":memory:", "") and not path.startswith("file:"):
        db = Path(path)
        return db.with_name(db.name + ".code")
    from stepfn.functions.code import default_cache_dir

    return default_cache_dir()
