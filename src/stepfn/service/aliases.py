"""Versions and aliases of state machines, as AWS's versioning API shapes them.

A version is an immutable snapshot of a state machine's revision, numbered from 1 and
never renumbered: deleting version 2 and publishing again gives version 3. Publishing
is idempotent: a revision that already has a version gets that version back.

An alias points at one or two versions of the same state machine with weights summing
to 100; ``StartExecution`` on the alias picks a version by those weights.

Recorded texts of AWS used here: the routing errors (``Routing configuration must contain
state machine version ARNs. Received: [...]``, ``... distinct ...``, ``Sum of routing
configuration weights must equal 100. Received: [70, 29]``), the alias conflict
(``Failed to create alias because an alias with the same name and a different routing
configuration already exists.``), the unknown alias (``Request references a resource
that does not exist.``), the version still in use, and the revision conflict of
PublishStateMachineVersion.
"""

from __future__ import annotations

from typing import Any

from stepfn.arns import StateMachineArn, invalid_arn, parse_state_machine_arn
from stepfn.errors import ServiceError
from stepfn.service.control_base import (
    INITIAL_REVISION,
    MAX_ALIASES,
    ControlBase,
    conflict,
    deleting,
    does_not_exist,
    labelled_arn,
    quota_exceeded,
    timestamp,
)
from stepfn.store.base import AliasRecord, StateMachineRecord, VersionRecord
from stepfn.validation.rules import (
    listing,
)

# The service model's pattern for alias names, quoted as written in AWS's messages.
ALIAS_NAME_PATTERN = r"^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$"
_NO_SUCH_ALIAS = "Request references a resource that does not exist."


def _alias_not_found() -> ServiceError:
    return ServiceError("ResourceNotFound", _NO_SUCH_ALIAS)


def _routing_error(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


class VersionsAndAliases(ControlBase):
    """PublishStateMachineVersion, ListStateMachineVersions, DeleteStateMachineVersion,
    and the five alias operations."""

    # --- versions ------------------------------------------------------------------------

    def publish_state_machine_version(
        self,
        stateMachineArn: str,
        revisionId: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """PublishStateMachineVersion: a version of the current revision.

        ``revisionId`` guards against publishing something else than what the caller
        saw: it must be the current revision (``INITIAL`` for a state machine never
        updated), or the call fails with ``ConflictException``.
        """
        record = self._machine_for_change(stateMachineArn)
        if revisionId is not None:
            current = record.revision_id or INITIAL_REVISION
            if revisionId != current:
                raise conflict(
                    f"Failed to publish the State Machine version for revision {revisionId}. "
                    f"The current State Machine revision is {current}."
                )
        version = self._publish(record, description)
        return {
            "creationDate": timestamp(version.creation_date),
            "stateMachineVersionArn": version.arn,
        }

    def list_state_machine_versions(
        self,
        stateMachineArn: str,
        nextToken: str | None = None,
        maxResults: int | None = None,
    ) -> dict[str, Any]:
        """ListStateMachineVersions, newest first. A state machine that does not exist
        simply has none (AWS names no error for it)."""
        ref = parse_state_machine_arn(stateMachineArn)
        if ref.kind != "state_machine":
            raise invalid_arn(f"Invalid state machine ARN: {stateMachineArn}")
        versions = self.store.list_versions(ref.base)
        return listing(
            versions,
            lambda v: -v.version,
            "stateMachineVersions",
            lambda v: {"stateMachineVersionArn": v.arn, "creationDate": timestamp(v.creation_date)},
            scope=f"versions:{ref.base}",
            max_results=maxResults,
            next_token=nextToken,
        )

    def delete_state_machine_version(self, stateMachineVersionArn: str) -> dict[str, Any]:
        """DeleteStateMachineVersion; a version an alias still routes to is kept."""
        ref = parse_state_machine_arn(stateMachineVersionArn)
        if ref.kind != "version":
            raise invalid_arn(f"Invalid version ARN: {stateMachineVersionArn}")
        version = self.store.get_version(ref.text)
        if version is None:
            return {}
        users = [
            alias.name
            for alias in self.store.list_aliases(version.state_machine_arn)
            if any(r["stateMachineVersionArn"] == version.arn for r in alias.routing_configuration)
        ]
        if users:
            raise conflict(
                "Version to be deleted must not be referenced by an alias. Current list of "
                f"aliases referencing this version: [{', '.join(users)}]"
            )
        self.store.delete_version(version.arn)
        self._forget_targets()
        return {}

    def _machine_for_change(self, arn: str) -> StateMachineRecord:
        """The state machine an update or a publish changes: only an unqualified ARN
        names one (AWS answers a version ARN with StateMachineDoesNotExist)."""
        ref = parse_state_machine_arn(arn)
        if ref.kind == "labelled":
            raise labelled_arn(arn)
        if ref.kind != "state_machine":
            raise does_not_exist(arn)
        return self._active_state_machine(ref)

    # --- aliases -------------------------------------------------------------------------

    def create_state_machine_alias(
        self,
        name: str,
        routingConfiguration: list[dict[str, Any]],
        description: str | None = None,
    ) -> dict[str, Any]:
        """CreateStateMachineAlias. Idempotent: the same name, description and routing
        give the existing alias; a different description or routing is a conflict."""
        routes = [dict(route) for route in routingConfiguration or ()]
        machine_arn = self._check_routes(routes)
        machine = self._state_machine_record(machine_arn)
        if machine is None:
            raise _alias_not_found()
        if machine.status == "DELETING":
            raise deleting(machine.arn)
        self._versions_exist(routes)
        arn = self.arns.alias(machine.arn, name)
        wanted = [dict(r) for r in routes]
        existing = self.store.get_alias(arn)
        if existing is not None:
            if existing.routing_configuration == wanted and existing.description == (
                description or ""
            ):
                return {
                    "stateMachineAliasArn": arn,
                    "creationDate": timestamp(existing.creation_date),
                }
            raise conflict(
                "Failed to create alias because an alias with the same name and a different "
                "routing configuration already exists."
            )
        if len(self.store.list_aliases(machine.arn)) >= MAX_ALIASES:
            raise quota_exceeded(
                f"The maximum number of aliases ({MAX_ALIASES}) has been reached for the "
                f"state machine '{machine.arn}'"
            )
        now = self.clock.now()
        self.store.insert_alias(
            AliasRecord(
                arn=arn,
                state_machine_arn=machine.arn,
                name=name,
                routing_configuration=wanted,
                creation_date=now,
                update_date=now,
                description=description or "",
            )
        )
        return {"stateMachineAliasArn": arn, "creationDate": timestamp(now)}

    def describe_state_machine_alias(self, stateMachineAliasArn: str) -> dict[str, Any]:
        """DescribeStateMachineAlias."""
        alias = self._alias(stateMachineAliasArn)
        out: dict[str, Any] = {
            "stateMachineAliasArn": alias.arn,
            "name": alias.name,
            "routingConfiguration": [dict(r) for r in alias.routing_configuration],
            "creationDate": timestamp(alias.creation_date),
            "updateDate": timestamp(alias.update_date or alias.creation_date),
        }
        return self._optional(out, "description", alias.description)

    def update_state_machine_alias(
        self,
        stateMachineAliasArn: str,
        description: str | None = None,
        routingConfiguration: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """UpdateStateMachineAlias: its description, its routing, or both."""
        routes = [dict(route) for route in routingConfiguration or ()]
        if description is None and routingConfiguration is None:
            raise ServiceError(
                "ValidationException",
                "Either the description or the RoutingConfiguration must be specified",
            )
        alias = self._alias(stateMachineAliasArn)
        machine = self._state_machine_record(alias.state_machine_arn)
        if machine is None:
            raise _alias_not_found()
        if machine.status == "DELETING":
            raise deleting(machine.arn)
        if routingConfiguration is not None:
            if self._check_routes(routes) != alias.state_machine_arn:
                raise _routing_error(
                    "Routing configuration must contain state machine version ARNs of the "
                    f"alias's state machine. Received: [{_arns_of(routes)}]"
                )
            self._versions_exist(routes)
            alias.routing_configuration = [dict(r) for r in routes]
        if description is not None:
            alias.description = description
        now = self.clock.now()
        alias.update_date = now
        self.store.update_alias(alias)
        return {"updateDate": timestamp(now)}

    def delete_state_machine_alias(self, stateMachineAliasArn: str) -> dict[str, Any]:
        """DeleteStateMachineAlias; deleting an alias that is gone already succeeds."""
        ref = self._alias_ref(stateMachineAliasArn)
        if self.store.get_alias(ref.text) is not None:
            self.store.delete_alias(ref.text)
        return {}

    def list_state_machine_aliases(
        self,
        stateMachineArn: str,
        nextToken: str | None = None,
        maxResults: int | None = None,
    ) -> dict[str, Any]:
        """ListStateMachineAliases, oldest first as AWS's recordings show. Given a
        version ARN, the aliases that route to that version."""
        ref = parse_state_machine_arn(stateMachineArn)
        if ref.kind not in ("state_machine", "version"):
            raise invalid_arn(f"Invalid state machine ARN: {stateMachineArn}")
        machine = self._state_machine_record(ref.base)
        if machine is None:
            raise does_not_exist(stateMachineArn)
        if machine.status == "DELETING":
            raise deleting(stateMachineArn)
        aliases = self.store.list_aliases(machine.arn)
        if ref.kind == "version":
            if self.store.get_version(ref.text) is None:
                raise ServiceError("ResourceNotFound", _NO_SUCH_ALIAS)
            aliases = [
                a
                for a in aliases
                if any(r["stateMachineVersionArn"] == ref.text for r in a.routing_configuration)
            ]
        return listing(
            aliases,
            lambda a: (a.creation_date, a.name),
            "stateMachineAliases",
            lambda a: {"stateMachineAliasArn": a.arn, "creationDate": timestamp(a.creation_date)},
            scope=f"aliases:{ref.text}",
            max_results=maxResults,
            next_token=nextToken,
        )

    # --- helpers -------------------------------------------------------------------------

    def _alias_ref(self, arn: Any) -> StateMachineArn:
        ref = parse_state_machine_arn(arn)
        if ref.kind != "alias":
            raise invalid_arn(f"Invalid alias ARN: {arn}")
        return ref

    def _alias(self, arn: str) -> AliasRecord:
        alias = self.store.get_alias(self._alias_ref(arn).text)
        if alias is None:
            raise _alias_not_found()
        return alias

    @staticmethod
    def _check_routes(routes: list[dict[str, Any]]) -> str:
        """The routing rules AWS checks after the model's: version ARNs of one state
        machine, each once, weights summing to 100. Returns that state machine's ARN."""
        refs: list[StateMachineArn | None] = []
        for route in routes:
            try:
                refs.append(parse_state_machine_arn(route["stateMachineVersionArn"]))
            except ServiceError:
                refs.append(None)
        if any(ref is None or ref.kind != "version" for ref in refs):
            raise _routing_error(
                "Routing configuration must contain state machine version ARNs. "
                f"Received: [{_arns_of(routes)}]"
            )
        arns = [route["stateMachineVersionArn"] for route in routes]
        if len(set(arns)) != len(arns):
            raise _routing_error(
                "Routing configuration must contain distinct state machine version ARNs. "
                f"Received: [{_arns_of(routes)}]"
            )
        machines = {ref.base for ref in refs if ref is not None}
        if len(machines) != 1:
            raise _routing_error(
                "Routing configuration must contain state machine version ARNs of the same "
                f"state machine. Received: [{_arns_of(routes)}]"
            )
        weights = [route["weight"] for route in routes]
        if sum(weights) != 100:
            raise _routing_error(
                "Sum of routing configuration weights must equal 100. "
                f"Received: [{', '.join(str(w) for w in weights)}]"
            )
        return machines.pop()

    def _versions_exist(self, routes: list[dict[str, Any]]) -> list[VersionRecord]:
        versions = []
        for route in routes:
            version = self.store.get_version(route["stateMachineVersionArn"])
            if version is None:
                raise ServiceError("ResourceNotFound", _NO_SUCH_ALIAS)
            versions.append(version)
        return versions


def _arns_of(routes: list[dict[str, Any]]) -> str:
    return ", ".join(str(route["stateMachineVersionArn"]) for route in routes)
