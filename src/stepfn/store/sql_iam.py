"""The IAM part of the SQL stores (see ``store/iam.py`` for each method)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from stepfn.store.iam import IamStore, PolicyRecord, PolicyVersionRecord, RoleRecord
from stepfn.store.sql_core import SqlCore
from stepfn.store.sql_rows import params, rows


def _columns(record: Any, table: str, *drop: str) -> dict[str, Any]:
    """A role's or a policy's fields as parameters (its tags as JSON text), without the
    columns that ``drop`` names (those a statement does not write)."""
    values = params(record, table)
    for name in drop:
        values.pop(name, None)
    return values


def _policy_update(policy: PolicyRecord) -> dict[str, Any]:
    """What ``update_iam_policy`` writes of a policy: neither what names it nor its
    attachment count (counted from the attachments when read)."""
    return _columns(
        policy, "iam_policies", "attachment_count", "name", "policy_id", "path", "create_date"
    )


class SqlIam(SqlCore, IamStore):
    """Roles and managed policies, in SQL."""

    _iam_writes = itertools.count()  # next() is atomic: writes from any thread count
    _iam_written = 0

    def iam_generation(self) -> int:
        """Changed by every IAM write of this store object (see ``IamStore``)."""
        return self._iam_written

    @contextmanager
    def _iam_change(self) -> Iterator[None]:
        # After the write (committed or not): a reader that cached before it sees a
        # new generation, one that reads after it reads the new rows.
        try:
            yield
        finally:
            self._iam_written = next(self._iam_writes)

    def insert_role(self, record: RoleRecord) -> None:
        """Add a role; ``Conflict`` when its name exists."""
        with self._iam_change(), self._write() as conn:
            conn.execute(self._q["insert_iam_role"], _columns(record, "iam_roles"))

    def get_role(self, name: str) -> RoleRecord | None:
        """The role with this name."""
        return self._one("get_iam_role", {"name": name}, "iam_roles", RoleRecord)

    def update_role(self, record: RoleRecord) -> None:
        """Replace a role's trust policy, description, session duration and tags."""
        with self._iam_change():
            values = _columns(record, "iam_roles", "role_id", "arn", "path", "create_date")
            self._update("update_iam_role", values, "role")

    def list_roles(self) -> list[RoleRecord]:
        """Every role, by name."""
        return self._all("list_iam_roles", {}, "iam_roles", RoleRecord)

    def delete_role(self, name: str) -> None:
        """Remove a role (nothing when missing)."""
        with self._iam_change(), self._write() as conn:
            conn.execute(self._q["delete_iam_role"], {"name": name})

    def insert_policy(self, record: PolicyRecord, first: PolicyVersionRecord) -> None:
        """Add a managed policy with its first version."""
        with self._iam_change(), self._write() as conn:
            values = _columns(record, "iam_policies", "attachment_count")
            conn.execute(self._q["insert_iam_policy"], values)
            conn.execute(self._q["insert_iam_policy_version"], asdict(first))

    def get_policy(self, arn: str) -> PolicyRecord | None:
        """The managed policy with this ARN."""
        return self._one("get_iam_policy", {"arn": arn}, "iam_policies", PolicyRecord)

    def list_policies(self) -> list[PolicyRecord]:
        """Every managed policy, by name."""
        return self._all("list_iam_policies", {}, "iam_policies", PolicyRecord)

    def update_policy(self, record: PolicyRecord) -> None:
        """Replace a policy's default version, counter, description and tags."""
        with self._iam_change():
            self._update("update_iam_policy", _policy_update(record), "policy")

    def delete_policy(self, arn: str) -> None:
        """Remove a managed policy with its versions."""
        with self._iam_change(), self._write() as conn:
            conn.execute(self._q["delete_iam_policy_versions"], {"policy_arn": arn})
            conn.execute(self._q["delete_iam_policy"], {"arn": arn})

    def add_policy_version(self, policy: PolicyRecord, version: PolicyVersionRecord) -> None:
        """Add a version and save the policy's counter and default with it."""
        with self._iam_change(), self._write() as conn:
            conn.execute(self._q["insert_iam_policy_version"], asdict(version))
            conn.execute(self._q["update_iam_policy"], _policy_update(policy))

    def list_policy_versions(self, policy_arn: str) -> list[PolicyVersionRecord]:
        """A policy's versions, newest first."""
        values = {"policy_arn": policy_arn}
        return self._all("list_iam_policy_versions", values, "versions_", PolicyVersionRecord)

    def delete_policy_version(self, policy_arn: str, version_id: str) -> None:
        """Remove one version of a policy."""
        with self._iam_change(), self._write() as conn:
            conn.execute(
                self._q["delete_iam_policy_version"],
                {"policy_arn": policy_arn, "version_id": version_id},
            )

    def attach_role_policy(self, role_name: str, policy_arn: str) -> None:
        """Attach a managed policy to a role (again is nothing)."""
        with self._iam_change(), self._write() as conn:
            conn.execute(
                self._q["attach_iam_role_policy"],
                {"role_name": role_name, "policy_arn": policy_arn},
            )

    def detach_role_policy(self, role_name: str, policy_arn: str) -> bool:
        """Detach it; whether it was attached."""
        with self._iam_change(), self._write() as conn:
            cursor = conn.execute(
                self._q["detach_iam_role_policy"],
                {"role_name": role_name, "policy_arn": policy_arn},
            )
            return bool(cursor.rowcount)

    def attached_role_policies(self, role_name: str) -> list[str]:
        """The ARNs of the managed policies attached to a role."""
        with self._read() as conn:
            found = rows(
                conn.execute(self._q["list_iam_role_attachments"], {"role_name": role_name})
            )
        return [row["policy_arn"] for row in found]

    def put_role_policy(self, role_name: str, name: str, document: str) -> None:
        """Add or replace an inline policy of a role."""
        with self._iam_change(), self._write() as conn:
            conn.execute(
                self._q["put_iam_role_policy"],
                {"role_name": role_name, "name": name, "document": document},
            )

    def role_policies(self, role_name: str) -> dict[str, str]:
        """A role's inline policies: name -> document."""
        with self._read() as conn:
            found = rows(conn.execute(self._q["list_iam_role_policies"], {"role_name": role_name}))
        return {row["name"]: row["document"] for row in found}

    def delete_role_policy(self, role_name: str, name: str) -> bool:
        """Remove an inline policy; whether there was one."""
        with self._iam_change(), self._write() as conn:
            cursor = conn.execute(
                self._q["delete_iam_role_policy"], {"role_name": role_name, "name": name}
            )
            return bool(cursor.rowcount)
