"""The IAM part of the store's interface: roles, managed policies and their versions,
attachments and inline policies (``service/iam.py`` answers the IAM API over them).

Policy documents are kept as the exact text the caller sent (IAM answers them back
URL-encoded, and Terraform compares them as JSON). Tags are lists of ``{"Key", "Value"}``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field


@dataclass
class RoleRecord:
    """One IAM role."""

    name: str
    role_id: str
    arn: str
    path: str
    assume_role_policy: str
    description: str | None
    max_session_duration: int
    create_date: float
    tags: list[dict[str, str]] = field(default_factory=list)


@dataclass
class PolicyRecord:
    """One customer managed policy (its versions are ``PolicyVersionRecord``)."""

    arn: str
    name: str
    policy_id: str
    path: str
    description: str | None
    default_version_id: str
    next_version: int
    create_date: float
    update_date: float
    tags: list[dict[str, str]] = field(default_factory=list)
    attachment_count: int = 0


@dataclass
class PolicyVersionRecord:
    """One version of a managed policy."""

    policy_arn: str
    version_id: str
    document: str
    create_date: float


class IamStore(abc.ABC):
    """Roles and policies; each method is one transaction."""

    @abc.abstractmethod
    def iam_generation(self) -> int:
        """A number that every IAM write through this store object changes: what a
        cache of IAM reads in this process compares with (another process's writes it
        cannot see)."""

    @abc.abstractmethod
    def insert_role(self, record: RoleRecord) -> None:
        """Add a role; ``Conflict`` when its name exists."""

    @abc.abstractmethod
    def get_role(self, name: str) -> RoleRecord | None:
        """The role with this name."""

    @abc.abstractmethod
    def update_role(self, record: RoleRecord) -> None:
        """Replace a role's trust policy, description, session duration and tags."""

    @abc.abstractmethod
    def list_roles(self) -> list[RoleRecord]:
        """Every role, by name."""

    @abc.abstractmethod
    def delete_role(self, name: str) -> None:
        """Remove a role (nothing when missing)."""

    @abc.abstractmethod
    def insert_policy(self, record: PolicyRecord, first: PolicyVersionRecord) -> None:
        """Add a managed policy with its first version; ``Conflict`` when its ARN exists."""

    @abc.abstractmethod
    def get_policy(self, arn: str) -> PolicyRecord | None:
        """The managed policy with this ARN (with how many roles it is attached to)."""

    @abc.abstractmethod
    def list_policies(self) -> list[PolicyRecord]:
        """Every managed policy, by name."""

    @abc.abstractmethod
    def update_policy(self, record: PolicyRecord) -> None:
        """Replace a policy's default version, version counter, description and tags."""

    @abc.abstractmethod
    def delete_policy(self, arn: str) -> None:
        """Remove a managed policy with its versions."""

    @abc.abstractmethod
    def add_policy_version(self, policy: PolicyRecord, version: PolicyVersionRecord) -> None:
        """Add a version and save the policy's new counter (and default) together."""

    @abc.abstractmethod
    def list_policy_versions(self, policy_arn: str) -> list[PolicyVersionRecord]:
        """A policy's versions, newest first."""

    @abc.abstractmethod
    def delete_policy_version(self, policy_arn: str, version_id: str) -> None:
        """Remove one version of a policy."""

    @abc.abstractmethod
    def attach_role_policy(self, role_name: str, policy_arn: str) -> None:
        """Attach a managed policy to a role (again is nothing)."""

    @abc.abstractmethod
    def detach_role_policy(self, role_name: str, policy_arn: str) -> bool:
        """Detach it; whether it was attached."""

    @abc.abstractmethod
    def attached_role_policies(self, role_name: str) -> list[str]:
        """The ARNs of the managed policies attached to a role."""

    @abc.abstractmethod
    def put_role_policy(self, role_name: str, name: str, document: str) -> None:
        """Add or replace an inline policy of a role."""

    @abc.abstractmethod
    def role_policies(self, role_name: str) -> dict[str, str]:
        """A role's inline policies: name -> document, by name."""

    @abc.abstractmethod
    def delete_role_policy(self, role_name: str, name: str) -> bool:
        """Remove an inline policy; whether there was one."""
