"""The roles' policy documents that task enforcement reads (``Iam.role_documents``): kept
between tasks, and never older than an IAM write of this process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepfn.service import iam as iam_module
from stepfn.service.engine import Engine

from .test_iam_task_kinds import TRUST


def allow(action: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
        }
    )


def test_a_roles_documents_are_read_once_and_again_after_a_write(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine.open(store_url, background=False)
    try:
        iam = engine.iam
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        reads: list[str] = []
        original = iam.store.get_role

        def counted(name: str) -> Any:
            reads.append(name)
            return original(name)

        monkeypatch.setattr(iam.store, "get_role", counted)

        def documents() -> tuple[Any, int]:
            before = len(reads)
            found = iam.role_documents(role)
            return found, len(reads) - before  # the documents, and the store reads

        assert documents() == ([], 1)
        assert documents() == ([], 0)  # the second task's check reads nothing
        iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=allow("lambda:*"))
        assert documents() == ([allow("lambda:*")], 1)  # at once, not a moment later
        iam.delete_role_policy(RoleName="r", PolicyName="p")
        assert documents() == ([], 1)
    finally:
        engine.close()


def test_another_servers_write_shows_within_the_cache_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "shared.db")
    here = Engine.open(path, background=False)
    there = Engine.open(path, background=False)  # another process on the same database
    try:
        role = here.iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        assert here.iam.role_documents(role) == []
        there.iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=allow("s3:*"))
        clock = [1000.0]
        monkeypatch.setattr(iam_module.time, "monotonic", lambda: clock[0])
        here.iam._role_documents.clear()
        assert here.iam.role_documents(role) == [allow("s3:*")]
        there.iam.delete_role_policy(RoleName="r", PolicyName="p")
        assert here.iam.role_documents(role) == [allow("s3:*")]  # not seen yet: kept
        clock[0] += iam_module.ROLE_CACHE_SECONDS + 0.01
        assert here.iam.role_documents(role) == []
    finally:
        here.close()
        there.close()
