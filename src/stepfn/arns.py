"""Step Functions ARNs: building them, and reading them back with AWS's errors.

Every resource of the service is named by an ARN of the form
``arn:<partition>:states:<region>:<account>:<resource type>:<resource>``. State machine
ARNs come in four shapes, and most operations accept only some of them:

======================================  ==================  ============================
``...:stateMachine:Orders``             the state machine   ``kind == "state_machine"``
``...:stateMachine:Orders:3``           version 3           ``kind == "version"``
``...:stateMachine:Orders:PROD``        alias PROD          ``kind == "alias"``
``...:stateMachine:Orders/ProcessMap``  a Distributed Map   ``kind == "labelled"``
======================================  ==================  ============================

A qualifier made only of digits is a version number; alias names must contain a letter,
``_``, ``-`` or ``.`` precisely so that the two never collide.

AWS words a malformed ARN as ``Invalid Arn: 'Invalid ARN prefix: <arn>'`` and an ARN of
the wrong resource type as ``Invalid Arn: 'Resource type not valid in this context:
<type>'``; both texts are recorded answers of AWS.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass

from stepfn.errors import ServiceError

__all__ = [
    "ACTIVITY",
    "EXECUTION",
    "EXPRESS",
    "MAP_RUN",
    "STATE_MACHINE",
    "Arn",
    "ArnBuilder",
    "StateMachineArn",
    "builder_for",
    "invalid_arn",
    "parse_arn",
    "parse_state_machine_arn",
    "region_and_account",
    "resource_name",
    "split",
]

STATE_MACHINE = "stateMachine"
ACTIVITY = "activity"
EXECUTION = "execution"
EXPRESS = "express"
MAP_RUN = "mapRun"


def split(text: str) -> list[str]:
    """The colon-separated fields of an ARN (``arn``, partition, service, region,
    account, then the resource's own fields)."""
    return text.split(":")


def resource_name(arn: str) -> str:
    """The last field of an ARN: a state machine's or activity's name."""
    return arn.rsplit(":", 1)[-1]


@functools.lru_cache(maxsize=4096)  # asked of the same few state machine ARNs at every step
def region_and_account(arn: str) -> tuple[str, str]:
    """The region and account of an ARN, with stepfn's defaults where it has none."""
    parts = split(arn)
    region = parts[3] if len(parts) > 3 and parts[3] else "us-east-1"
    account = parts[4] if len(parts) > 4 and parts[4] else "123456789012"
    return region, account


def role_name(arn: str) -> str | None:
    """The role name in an IAM role ARN (its path left out), None for anything else."""
    parts = split(arn)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    return parts[5].rsplit("/", 1)[-1] or None


def builder_for(arn: str) -> ArnBuilder:
    """An ``ArnBuilder`` of the partition, region and account that ``arn`` names."""
    parts = split(arn)
    region, account = region_and_account(arn)
    return ArnBuilder(region, account, parts[1] if len(parts) > 1 and parts[1] else "aws")


def invalid_arn(detail: str) -> ServiceError:
    """AWS's InvalidArn error: ``Invalid Arn: '<detail>'``."""
    return ServiceError("InvalidArn", f"Invalid Arn: '{detail}'")


@dataclass(frozen=True)
class Arn:
    """An ARN of this service, split into its fields."""

    text: str
    partition: str
    region: str
    account: str
    resource_type: str
    resource: str


def parse_arn(text: str, allowed: Collection[str]) -> Arn:
    """Split a Step Functions ARN, refusing other services and other resource types.

    Args:
        text: the ARN as the caller gave it.
        allowed: the resource types the operation accepts (``stateMachine``, ...).

    Raises:
        ServiceError: ``InvalidArn`` for text that is not an ARN of this service, or an
            ARN whose resource type the operation does not take.
    """
    parts = text.split(":", 6)
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "states" or not parts[1]:
        raise invalid_arn(f"Invalid ARN prefix: {text}")
    _, partition, _, region, account, resource_type, resource = parts
    if resource_type not in allowed:
        raise invalid_arn(f"Resource type not valid in this context: {resource_type}")
    if not resource:
        raise invalid_arn(f"Resource name not valid: {text}")
    return Arn(text, partition, region, account, resource_type, resource)


@dataclass(frozen=True)
class StateMachineArn:
    """A state machine ARN, qualified or not.

    ``base`` is always the unqualified ARN of the state machine; ``qualifier`` is the
    version number (as text) or the alias name; ``label`` names a Distributed Map.
    """

    text: str
    base: str
    name: str
    qualifier: str | None = None
    label: str | None = None

    @property
    def kind(self) -> str:
        """``state_machine``, ``version``, ``alias`` or ``labelled``."""
        if self.label is not None:
            return "labelled"
        if self.qualifier is None:
            return "state_machine"
        return "version" if self.qualifier.isdigit() else "alias"

    @property
    def version(self) -> int | None:
        """The version number of a version ARN."""
        return int(self.qualifier) if self.kind == "version" and self.qualifier else None


def parse_state_machine_arn(text: str) -> StateMachineArn:
    """Read a state machine ARN of any of its four shapes.

    Raises:
        ServiceError: ``InvalidArn`` as ``parse_arn`` raises it, or for a resource part
            with empty pieces or more than one qualifier.
    """
    arn = parse_arn(text, (STATE_MACHINE,))
    resource, label = arn.resource, None
    if "/" in resource:
        resource, label = resource.split("/", 1)
        if not label or ":" in label:
            raise invalid_arn(f"Resource name not valid: {text}")
    pieces = resource.split(":")
    if len(pieces) > 2 or not all(pieces) or (label is not None and len(pieces) > 1):
        raise invalid_arn(f"Resource name not valid: {text}")
    name = pieces[0]
    return StateMachineArn(
        text=text,
        base=":".join([*text.split(":", 6)[:6], name]),
        name=name,
        qualifier=pieces[1] if len(pieces) == 2 else None,
        label=label,
    )


class ArnBuilder:
    """Makes the ARNs of one region and account: the one place ARNs are written."""

    def __init__(self, region: str, account: str, partition: str = "aws") -> None:
        self.region = region
        self.account = account
        self.partition = partition
        self.prefix = f"arn:{partition}:states:{region}:{account}"

    def execution(self, state_machine: str, name: str) -> str:
        """``arn:...:execution:<state machine>:<name>`` (a child's machine is
        ``<machine>/<label>``)."""
        return f"{self.prefix}:{EXECUTION}:{state_machine}:{name}"

    def express_execution(self, state_machine: str, name: str, unique: str) -> str:
        """``arn:...:express:<state machine>:<name>:<unique>``: Express names may repeat."""
        return f"{self.prefix}:{EXPRESS}:{state_machine}:{name}:{unique}"

    def map_run(self, state_machine: str, label: str, execution_name: str) -> str:
        """``arn:...:mapRun:<state machine>/<label>:<execution name>``."""
        return f"{self.prefix}:{MAP_RUN}:{state_machine}/{label}:{execution_name}"

    def role(self, name: str, path: str = "/") -> str:
        """``arn:aws:iam::<account>:role<path><name>`` (the path is ``/`` by default)."""
        return f"arn:{self.partition}:iam::{self.account}:role{path}{name}"

    def iam_policy(self, name: str, path: str = "/") -> str:
        """``arn:aws:iam::<account>:policy<path><name>``: a customer managed policy."""
        return f"arn:{self.partition}:iam::{self.account}:policy{path}{name}"

    def account_root(self) -> str:
        """``arn:aws:iam::<account>:root``: who the caller is, for GetCallerIdentity."""
        return f"arn:{self.partition}:iam::{self.account}:root"

    def lambda_function(self, name: str) -> str:
        """``arn:aws:lambda:<region>:<account>:function:<name>``."""
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"

    def log_group(self, name: str) -> str:
        """``arn:aws:logs:<region>:<account>:log-group:<name>``."""
        return f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{name}"

    def state_machine(self, name: str) -> str:
        """``arn:...:stateMachine:<name>``."""
        return f"{self.prefix}:{STATE_MACHINE}:{name}"

    def activity(self, name: str) -> str:
        """``arn:...:activity:<name>``."""
        return f"{self.prefix}:{ACTIVITY}:{name}"

    @staticmethod
    def version(state_machine_arn: str, number: int) -> str:
        """``<state machine arn>:<number>``."""
        return f"{state_machine_arn}:{number}"

    @staticmethod
    def alias(state_machine_arn: str, name: str) -> str:
        """``<state machine arn>:<alias name>``."""
        return f"{state_machine_arn}:{name}"
