"""The state machines service of the Engine: state machines, versions and aliases.

Each public method is named as boto3's Step Functions client method, takes boto3's
keyword arguments (``stateMachineArn=``, ``roleArn=``, ...) and returns boto3's response
shape with AWS's field names; times are aware UTC datetimes, as boto3 gives them. Errors
are ``ServiceError`` with AWS's codes and, where AWS's answers were recorded, AWS's exact
texts. The HTTP API therefore only maps JSON to these calls and back.

Revisions: a state machine starts without a revision id (AWS's ``INITIAL``); every
update that changes its definition, role, logging, tracing or encryption gives it a new
one, and an update that changes nothing keeps it. Executions record the revision they
ran, and ``resolve_target`` tells the execution side what a state machine, version or
alias ARN runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from stepfn.arns import (
    StateMachineArn,
    invalid_arn,
    parse_state_machine_arn,
)
from stepfn.definition.parse import parse_definition
from stepfn.definition.validate import is_error
from stepfn.definition.varrefs import variable_references
from stepfn.errors import Problem, ServiceError
from stepfn.service.aliases import VersionsAndAliases
from stepfn.service.control_base import (
    VERSION_COUNTER_TAG,
    deleting,
    does_not_exist,
    labelled_arn,
    timestamp,
    too_many_tags,
)
from stepfn.store.base import Conflict, StateMachineRecord
from stepfn.validation.rules import (
    DEFAULT_ENCRYPTION,
    DEFAULT_LOGGING,
    DEFAULT_TRACING,
    MAX_TAGS,
    check_resource_name,
    invalid_definition,
    listing,
    normalize_encryption,
    normalize_logging,
    normalize_tracing,
    tag_pairs,
)

__all__ = ["StateMachines", "Target"]

_DEFINITION_DIAGNOSTICS = 100


@dataclass(frozen=True)
class Target:
    """What an execution started on a state machine, version or alias ARN runs."""

    state_machine_arn: str
    name: str
    definition: str
    role_arn: str
    type: str
    revision_id: str = ""
    version_arn: str | None = None
    alias_arn: str | None = None
    logging_configuration: dict[str, Any] = field(default_factory=dict)
    tracing_configuration: dict[str, Any] = field(default_factory=dict)


class StateMachines(VersionsAndAliases):
    """State machines, their versions and aliases, over a ``Store``."""

    # --- state machines ------------------------------------------------------------------

    def create_state_machine(
        self,
        name: str,
        definition: str,
        roleArn: str,
        type: str | None = None,
        loggingConfiguration: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
        tracingConfiguration: dict[str, Any] | None = None,
        publish: bool | None = None,
        versionDescription: str | None = None,
        encryptionConfiguration: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """CreateStateMachine, idempotent as AWS's: creating again with the same name,
        definition, type and configurations returns the existing state machine (its role
        and tags are then left as they are); anything else differing is
        ``StateMachineAlreadyExists``."""
        pairs = tag_pairs(tags)
        check_resource_name(name)
        if versionDescription is not None and not publish:
            raise ServiceError(
                "ValidationException", "Version description can only be set when publish is true"
            )
        _check_role(roleArn)
        machine_type = type or "STANDARD"
        self._check_definition(definition, machine_type)
        refuse_unresolved_resources(definition)
        logging = normalize_logging(loggingConfiguration)
        tracing = normalize_tracing(tracingConfiguration)
        encryption = normalize_encryption(encryptionConfiguration)
        wanted_tags = {k: v for k, v in pairs if k != VERSION_COUNTER_TAG}
        if len(wanted_tags) > MAX_TAGS:
            raise too_many_tags(self.arns.state_machine(name))
        now = self.clock.now()
        record = StateMachineRecord(
            arn=self.arns.state_machine(name),
            name=name,
            definition=definition,
            role_arn=roleArn,
            type=machine_type,
            creation_date=now,
            logging_configuration=logging,
            tracing_configuration=tracing,
            encryption_configuration=encryption,
        )
        existing = self._state_machine_record(record.arn)
        if existing is None:
            try:
                self.store.insert_state_machine(record)
            except Conflict:  # created meanwhile by another request
                existing = self._state_machine_record(record.arn)
                if existing is None:
                    raise
        if existing is not None:
            return self._created_again(existing, record, bool(publish), versionDescription)
        if wanted_tags:
            self.store.set_tags(record.arn, wanted_tags)
        out: dict[str, Any] = {"stateMachineArn": record.arn, "creationDate": timestamp(now)}
        if publish:
            out["stateMachineVersionArn"] = self._publish(record, versionDescription).arn
        return out

    def _created_again(
        self,
        existing: StateMachineRecord,
        wanted: StateMachineRecord,
        publish: bool,
        version_description: str | None,
    ) -> dict[str, Any]:
        """CreateStateMachine for a name taken: the same request again, or a clash."""
        if existing.status == "DELETING":
            raise deleting(existing.arn)
        same = (
            existing.definition == wanted.definition
            and existing.type == wanted.type
            and _logging(existing) == wanted.logging_configuration
            and _tracing(existing) == wanted.tracing_configuration
            and _encryption(existing) == wanted.encryption_configuration
        )
        version = self._version_of_revision(existing) if same and publish else None
        if publish and (version is None or version.description != (version_description or "")):
            same = False
        if not same:
            raise ServiceError(
                "StateMachineAlreadyExists", f"State Machine Already Exists: '{existing.arn}'"
            )
        out: dict[str, Any] = {
            "stateMachineArn": existing.arn,
            "creationDate": timestamp(existing.creation_date),
        }
        if version is not None:
            out["stateMachineVersionArn"] = version.arn
        return out

    def describe_state_machine(
        self, stateMachineArn: str, includedData: str | None = None
    ) -> dict[str, Any]:
        """DescribeStateMachine, of the state machine or of one of its versions.

        ``includedData="METADATA_ONLY"`` leaves the definition out (``{}``), as AWS does
        for callers who may not decrypt it.
        """
        ref, machine = self._existing(stateMachineArn)
        out: dict[str, Any]
        if ref.kind == "version":
            version = self.store.get_version(ref.text)
            if version is None:
                raise does_not_exist(stateMachineArn)
            out = {
                "stateMachineArn": version.arn,
                "name": machine.name,
                "status": machine.status,
                "definition": version.definition,
                "roleArn": version.role_arn,
                "type": version.type,
                "creationDate": timestamp(version.creation_date),
                "loggingConfiguration": version.logging_configuration or dict(DEFAULT_LOGGING),
                "tracingConfiguration": version.tracing_configuration or dict(DEFAULT_TRACING),
            }
            self._optional(out, "revisionId", version.revision_id)
            self._optional(out, "description", version.description)
        elif ref.kind == "alias":
            # AWS describes versions only; an alias is not a state machine of its own.
            raise does_not_exist(stateMachineArn)
        else:
            out = {
                "stateMachineArn": machine.arn,
                "name": machine.name,
                "status": machine.status,
                "definition": machine.definition,
                "roleArn": machine.role_arn,
                "type": machine.type,
                "creationDate": timestamp(machine.creation_date),
                "loggingConfiguration": _logging(machine),
                "tracingConfiguration": _tracing(machine),
            }
            self._optional(out, "revisionId", machine.revision_id)
        out["encryptionConfiguration"] = _encryption(machine)
        self._optional(out, "variableReferences", variable_references(out["definition"]))
        if includedData == "METADATA_ONLY":
            out["definition"] = "{}"
        return out

    def _existing(self, arn: str) -> tuple[StateMachineArn, StateMachineRecord]:
        """``arn`` read, and the state machine it names (``StateMachineDoesNotExist``
        when there is none; a Distributed Map's labelled ARN is refused)."""
        ref = parse_state_machine_arn(arn)
        if ref.kind == "labelled":
            raise labelled_arn(arn)
        machine = self._state_machine_record(ref.base)
        if machine is None:
            raise does_not_exist(arn)
        return ref, machine

    def update_state_machine(
        self,
        stateMachineArn: str,
        definition: str | None = None,
        roleArn: str | None = None,
        loggingConfiguration: dict[str, Any] | None = None,
        tracingConfiguration: dict[str, Any] | None = None,
        publish: bool | None = None,
        versionDescription: str | None = None,
        encryptionConfiguration: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """UpdateStateMachine; with ``publish=True`` also publishes the new revision."""
        ref = parse_state_machine_arn(stateMachineArn)
        if ref.kind == "labelled":
            raise labelled_arn(stateMachineArn)
        changes = (
            definition,
            roleArn,
            loggingConfiguration,
            tracingConfiguration,
            encryptionConfiguration,
        )
        if all(change is None for change in changes):
            raise ServiceError(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the "
                "TracingConfiguration must be specified",
            )
        if versionDescription is not None and not publish:
            raise ServiceError(
                "ValidationException", "Version description can only be set when publish is true"
            )
        record = self._machine_for_change(stateMachineArn)
        if definition is not None:
            self._check_definition(definition, record.type)
            refuse_unresolved_resources(definition)
        if roleArn is not None:
            _check_role(roleArn)
        new = {
            "definition": record.definition if definition is None else definition,
            "role_arn": record.role_arn if roleArn is None else roleArn,
            "logging_configuration": _logging(record)
            if loggingConfiguration is None
            else normalize_logging(loggingConfiguration),
            "tracing_configuration": _tracing(record)
            if tracingConfiguration is None
            else normalize_tracing(tracingConfiguration),
            "encryption_configuration": _encryption(record)
            if encryptionConfiguration is None
            else normalize_encryption(encryptionConfiguration),
        }
        now = self.clock.now()
        old = {
            "definition": record.definition,
            "role_arn": record.role_arn,
            "logging_configuration": _logging(record),
            "tracing_configuration": _tracing(record),
            "encryption_configuration": _encryption(record),
        }
        if new != old:
            for key, value in new.items():
                setattr(record, key, value)
            record.revision_id = self.ids.uuid()
            record.update_date = now
            self.store.update_state_machine(record)
            self._forget_targets()
        out: dict[str, Any] = {"updateDate": timestamp(now)}
        self._optional(out, "revisionId", record.revision_id)
        if publish:
            out["stateMachineVersionArn"] = self._publish(record, versionDescription).arn
        return out

    def delete_state_machine(self, stateMachineArn: str) -> dict[str, Any]:
        """DeleteStateMachine, with its versions, aliases and tags. A state machine
        whose executions still run is ``DELETING`` until the last one ends; deleting
        one that does not exist succeeds, as on AWS."""
        ref = parse_state_machine_arn(stateMachineArn)
        if ref.kind == "labelled":
            raise labelled_arn(stateMachineArn)
        if ref.kind != "state_machine":
            raise ServiceError(
                "ValidationException",
                f"This operation does not support a qualified state machine ARN: "
                f"'{stateMachineArn}'",
            )
        record = self._state_machine_record(ref.base)
        if record is not None and not self._finish_deletion(record) and record.status != "DELETING":
            record.status = "DELETING"
            self.store.update_state_machine(record)
            self._forget_targets()
        return {}

    def list_state_machines(
        self, maxResults: int | None = None, nextToken: str | None = None
    ) -> dict[str, Any]:
        """ListStateMachines, by name as AWS lists them."""
        records = []
        for record in self.store.list_state_machines():
            if record.status == "DELETING" and self._finish_deletion(record):
                continue
            records.append(record)
        return listing(
            records,
            lambda r: r.name,
            "stateMachines",
            lambda r: {
                "stateMachineArn": r.arn,
                "name": r.name,
                "type": r.type,
                "creationDate": timestamp(r.creation_date),
            },
            scope="stateMachines",
            max_results=maxResults,
            next_token=nextToken,
        )

    def validate_state_machine_definition(
        self,
        definition: str,
        type: str | None = None,
        severity: str | None = None,
        maxResults: int | None = None,
    ) -> dict[str, Any]:
        """ValidateStateMachineDefinition: every problem, as diagnostics.

        ``severity="ERROR"`` (the default) reports errors only, ``"WARNING"`` warnings
        too; at most ``maxResults`` (1-100, 0 or none: 100) are returned, and
        ``truncated`` says whether some were left out. ``result`` is ``FAIL`` when any
        error was found, whether it was returned or not.
        """
        problems = self._definition_problems(definition, type or "STANDARD")
        failed = any(is_error(p) for p in problems)
        if (severity or "ERROR") == "ERROR":
            problems = [p for p in problems if is_error(p)]
        limit = maxResults or _DEFINITION_DIAGNOSTICS
        diagnostics = []
        for problem in problems[:limit]:
            item = {
                "severity": "ERROR" if is_error(problem) else "WARNING",
                "code": problem.code,
                "message": problem.message,
            }
            diagnostics.append(self._optional(item, "location", problem.path))
        return {
            "result": "FAIL" if failed else "OK",
            "diagnostics": diagnostics,
            "truncated": len(problems) > limit,
        }

    # --- what an execution runs ----------------------------------------------------------

    def resolve_target(self, arn: str, *, rng: random.Random | None = None) -> Target:
        """What ``StartExecution`` on ``arn`` runs: a state machine's current revision,
        a version, or (through an alias) one of the alias's versions by weight.

        Args:
            arn: a state machine, version or alias ARN.
            rng: draws the alias's version; without it the engine's ``IdSource`` does,
                so a seeded engine routes deterministically.

        Raises:
            ServiceError: ``InvalidArn``, ``StateMachineDoesNotExist`` (also for an
                unknown version or alias), ``StateMachineDeleting``, or
                ``ValidationException`` for a Distributed Map's labelled ARN.
        """
        cached = self._cached_target(arn)
        if cached is not None:
            target: Target = cached
            return target
        ref, machine = self._existing(arn)
        if machine.status == "DELETING":
            raise deleting(arn)
        alias_arn = None
        version_arn = ref.text if ref.kind == "version" else None
        if ref.kind == "alias":
            alias = self.store.get_alias(ref.text)
            if alias is None:
                raise does_not_exist(arn)
            alias_arn = alias.arn
            draw = rng.random() if rng is not None else self.ids.random()
            version_arn = _by_weight(alias.routing_configuration, draw)
        if version_arn is None:
            target = Target(
                state_machine_arn=machine.arn,
                name=machine.name,
                definition=machine.definition,
                role_arn=machine.role_arn,
                type=machine.type,
                revision_id=machine.revision_id,
                logging_configuration=_logging(machine),
                tracing_configuration=_tracing(machine),
            )
            if machine.status == "ACTIVE":
                self._cache_target(arn, target)
            return target
        version = self.store.get_version(version_arn)
        if version is None:
            raise does_not_exist(arn)
        target = Target(
            state_machine_arn=machine.arn,
            name=machine.name,
            definition=version.definition,
            role_arn=version.role_arn,
            type=version.type,
            revision_id=version.revision_id,
            version_arn=version.arn,
            alias_arn=alias_arn,
            logging_configuration=version.logging_configuration or dict(DEFAULT_LOGGING),
            tracing_configuration=version.tracing_configuration or dict(DEFAULT_TRACING),
        )
        if alias_arn is None and machine.status == "ACTIVE":
            self._cache_target(arn, target)  # an alias draws anew for every start
        return target


# --- helpers -------------------------------------------------------------------------------


def unresolved_resources(states: Any, path: str = "/States") -> list[Problem]:
    """The Task states, at any depth, whose ``Resource`` still holds a ``${...}``
    placeholder (a Terraform reference or a SAM/CDK substitution nobody resolved).

    Validation lets such a Resource pass, so that ``stepfn validate`` checks a template
    before its substitutions; a state machine cannot run one, and AWS's
    CreateStateMachine refuses it as it refuses any Resource that is not an ARN.
    """
    problems: list[Problem] = []
    if not isinstance(states, dict):
        return problems
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        where = f"{path}/{name}"
        resource = state.get("Resource")
        if state.get("Type") == "Task" and isinstance(resource, str) and "${" in resource:
            problems.append(
                Problem(
                    f"{where}/Resource",
                    "Value is not a valid resource ARN",
                    code="SCHEMA_VALIDATION_FAILED",
                )
            )
        for i, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                problems += unresolved_resources(
                    branch.get("States"), f"{where}/Branches[{i}]/States"
                )
        for key in ("ItemProcessor", "Iterator"):
            inner = state.get(key)
            if isinstance(inner, dict):
                problems += unresolved_resources(inner.get("States"), f"{where}/{key}/States")
    return problems


def refuse_unresolved_resources(definition: str) -> None:
    """Refuse a (valid) definition with an unresolved ``${...}`` Resource, as AWS answers:
    ``InvalidDefinition``, ``SCHEMA_VALIDATION_FAILED: Value is not a valid resource ARN
    at /States/NAME/Resource``."""
    if "${" not in definition:
        return  # the common case costs a substring search
    problems = unresolved_resources(parse_definition(definition, allow_yaml=False).get("States"))
    if problems:
        raise invalid_definition(problems)


def _check_role(role_arn: str) -> None:
    """A role must at least look like an ARN; stepfn assumes no role, so no more."""
    if not role_arn.startswith("arn:") or role_arn.count(":") < 5:
        raise invalid_arn(f"Invalid ARN prefix: {role_arn}")


def _logging(record: StateMachineRecord) -> dict[str, Any]:
    return dict(record.logging_configuration) or dict(DEFAULT_LOGGING)


def _tracing(record: StateMachineRecord) -> dict[str, Any]:
    return dict(record.tracing_configuration) or dict(DEFAULT_TRACING)


def _encryption(record: StateMachineRecord) -> dict[str, Any]:
    return dict(record.encryption_configuration) or dict(DEFAULT_ENCRYPTION)


def _by_weight(routes: list[dict[str, Any]], draw: float) -> str:
    """The version an alias routes a draw in [0, 1) to: ``weight`` percent of draws
    go to each version, in the order the routes are listed."""
    point = draw * 100
    for route in routes:
        point -= route["weight"]
        if point < 0:
            return str(route["stateMachineVersionArn"])
    # Weights sum to 100, so only rounding gets here: the last version with weight.
    return str([r for r in routes if r["weight"] > 0][-1]["stateMachineVersionArn"])
