"""What the control plane's operations share: lookups with AWS's errors, deletion,
definition checks and version publishing.

``StateMachines`` (``state_machines.py``) is this base with the versions-and-aliases
operations (``aliases.py``): one service, in two modules. The activities and tags
service (``activities.py``) calls it for the state machines it tags.

Deleting a state machine that still has running executions leaves it ``DELETING``, as
AWS does; it is removed by the first lookup that finds none of them running any more.
That keeps the rule in one place without a background sweep.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from stepfn.arns import StateMachineArn
from stepfn.definition.parse import parse_definition
from stepfn.definition.validate import is_error, validate
from stepfn.errors import DefinitionError, Problem, ServiceError
from stepfn.service.context import ServiceContext
from stepfn.store.base import Conflict, ExecutionQuery, StateMachineRecord, VersionRecord
from stepfn.validation.rules import MAX_TAGS, invalid_definition

TARGET_TTL = 1.0  # seconds a cached StartExecution target stays fresh
TARGET_CACHE_SIZE = 4096

MAX_VERSIONS = 1000
MAX_ALIASES = 100

# The highest version number a state machine ever had, kept among its tags under a key
# that the tagging operations never show nor accept: AWS never reuses a deleted version's
# number, and the store has no column for it. It goes with the state machine's tags.
VERSION_COUNTER_TAG = "aws:stepfn:lastVersionNumber"
INITIAL_REVISION = "INITIAL"


def timestamp(seconds: float) -> datetime:
    """Epoch seconds as boto3 returns times: an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def does_not_exist(arn: str) -> ServiceError:
    """AWS's ``StateMachineDoesNotExist`` (recorded text)."""
    return ServiceError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")


def deleting(arn: str) -> ServiceError:
    """``StateMachineDeleting`` (our wording: AWS's text is not recorded)."""
    return ServiceError("StateMachineDeleting", f"State Machine Is Being Deleted: '{arn}'")


def too_many_tags(arn: str) -> ServiceError:
    """``TooManyTags`` (our wording: AWS's text is not recorded)."""
    return ServiceError(
        "TooManyTags", f"Too many tags: a resource has at most {MAX_TAGS} tags: '{arn}'"
    )


def labelled_arn(arn: str) -> ServiceError:
    """A Distributed Map's labelled ARN where the operation takes none (our wording)."""
    return ServiceError(
        "ValidationException",
        f"This operation does not support a labelled state machine ARN: '{arn}'",
    )


def conflict(message: str) -> ServiceError:
    """``ConflictException``: HTTP 409, as the service model documents."""
    return ServiceError("ConflictException", message, status=409)


def quota_exceeded(message: str) -> ServiceError:
    """``ServiceQuotaExceededException``: HTTP 402, as the service model documents."""
    return ServiceError("ServiceQuotaExceededException", message, status=402)


class ControlBase:
    """The shared state and helpers of the control plane."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.store = ctx.store
        self.clock = ctx.clock
        self.region = ctx.region
        self.account = ctx.account
        self.ids = ctx.ids
        self.arns = ctx.arns
        # What StartExecution runs, by state machine or version ARN: (expiry, target).
        # Reading the machine for every start cost more than the rest of the start. A
        # change made here clears it at once; one made by another process on the same
        # store is seen within TARGET_TTL seconds, as AWS documents for itself
        # ("executions started shortly after UpdateStateMachine may use the previous
        # definition").
        self._targets: dict[str, tuple[float, Any]] = {}

    # --- state machines ------------------------------------------------------------------

    def _forget_targets(self) -> None:
        """Drop the cached targets after a change to a state machine or version."""
        self._targets.clear()

    def _cached_target(self, arn: str) -> Any:
        """The cached target of ``arn`` while it is fresh, else None."""
        found = self._targets.get(arn)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def _cache_target(self, arn: str, target: Any) -> None:
        if len(self._targets) >= TARGET_CACHE_SIZE:
            self._targets.clear()
        self._targets[arn] = (time.monotonic() + TARGET_TTL, target)

    def _state_machine_record(self, arn: str) -> StateMachineRecord | None:
        """The state machine at ``arn`` (unqualified), finishing its deletion if due."""
        record = self.store.get_state_machine(arn)
        if record is not None and record.status == "DELETING" and self._finish_deletion(record):
            return None
        return record

    def _active_state_machine(self, ref: StateMachineArn) -> StateMachineRecord:
        """The ACTIVE state machine of an unqualified ARN, or AWS's errors."""
        record = self._state_machine_record(ref.base)
        if record is None:
            raise does_not_exist(ref.text)
        if record.status == "DELETING":
            raise deleting(ref.text)
        return record

    def _finish_deletion(self, record: StateMachineRecord) -> bool:
        """Remove a state machine if no execution of it still runs; True when removed."""
        running = ExecutionQuery(record.arn, "RUNNING", limit=1)
        if self.store.list_executions(running):
            return False
        self.store.delete_state_machine(record.arn)
        self._forget_targets()
        return True

    # --- definitions ---------------------------------------------------------------------

    @staticmethod
    def _definition_problems(definition: str, machine_type: str) -> list[Problem]:
        """Every problem of a definition text, errors and warnings, as AWS locates them."""
        try:
            parsed = parse_definition(definition, allow_yaml=False)
        except DefinitionError as exc:
            return exc.problems
        return validate(parsed, machine_type=machine_type)

    def _check_definition(self, definition: str, machine_type: str) -> None:
        """Refuse a definition with errors (warnings pass), as ``InvalidDefinition``."""
        errors = [p for p in self._definition_problems(definition, machine_type) if is_error(p)]
        if errors:
            raise invalid_definition(errors)

    # --- versions ------------------------------------------------------------------------

    def _version_of_revision(self, record: StateMachineRecord) -> VersionRecord | None:
        """The published version of the state machine's current revision, if any."""
        for version in self.store.list_versions(record.arn):
            if version.revision_id == record.revision_id:
                return version
        return None

    def _publish(self, record: StateMachineRecord, description: str | None) -> VersionRecord:
        """Publish the current revision; the existing version when it has one already.

        Raises:
            ServiceError: ``ServiceQuotaExceededException`` past 1000 versions, and
                ``ConflictException`` when a concurrent publish took the number.
        """
        existing = self._version_of_revision(record)
        if existing is not None:
            return existing
        versions = self.store.list_versions(record.arn)
        if len(versions) >= MAX_VERSIONS:
            raise quota_exceeded(
                f"The maximum number of versions ({MAX_VERSIONS}) has been reached for the "
                f"state machine '{record.arn}'"
            )
        counter = self.store.get_tags(record.arn).get(VERSION_COUNTER_TAG, "0")
        highest = max([int(counter) if counter.isdigit() else 0, *(v.version for v in versions)])
        number = highest + 1
        version = VersionRecord(
            arn=self.arns.version(record.arn, number),
            state_machine_arn=record.arn,
            version=number,
            definition=record.definition,
            role_arn=record.role_arn,
            type=record.type,
            creation_date=self.clock.now(),
            description=description or "",
            revision_id=record.revision_id,
            logging_configuration=dict(record.logging_configuration),
            tracing_configuration=dict(record.tracing_configuration),
        )
        try:
            self.store.insert_version(version)
        except Conflict:
            raise conflict(
                f"Failed to publish the State Machine version for revision "
                f"{record.revision_id or INITIAL_REVISION}: a concurrent request published "
                "the same version number."
            ) from None
        self.store.set_tags(record.arn, {VERSION_COUNTER_TAG: str(number)})
        return version

    # --- shapes --------------------------------------------------------------------------

    @staticmethod
    def _optional(out: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
        """Set ``key`` only when ``value`` is given (AWS omits empty members)."""
        if value:
            out[key] = value
        return out
