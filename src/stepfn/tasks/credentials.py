"""A Task's ``Credentials``: its calls made as the role it names, through STS AssumeRole.

A Task with ``"Credentials": {"RoleArn": ...}`` (or ``RoleArn.$``, or a JSONata
``RoleArn``) is run as that role: the interpreter evaluates the field when it schedules
the task (``TaskScheduled`` records it as ``taskCredentials``) and the adapter gets it
as ``TaskRequest.role_arn``. An adapter that calls AWS with boto3 (``aws_calls``:
the optimized and SDK integrations, a Map's S3 reads and writes) first asks STS for the
role's credentials and makes the call with them:

* AssumeRole goes where the routing sends STS: a route matching ``STS_RESOURCE``
  (``arn:aws:states:::aws-sdk:sts:assumeRole``, so ``arn:aws:states:::*`` routes it
  too), else ``AWS_ENDPOINT_URL_STS`` or ``AWS_ENDPOINT_URL``, else AWS with
  ``"default": "aws"``; an STS nothing routes fails the task saying how to route it;
* the call is made as Step Functions makes it: ``RoleSessionName`` from the state
  machine's name, ``ExternalId`` the state machine's ARN (what AWS's documentation has
  a target role's trust policy require for cross-account ``.sync`` calls);
* the credentials are kept, per role and state machine, until five minutes before they
  expire, so a Task run often costs one AssumeRole an hour;
* a refused AssumeRole fails the task with ``States.TaskFailed``, STS's error in the
  cause as the Java SDK words it (``... (Service: AWSSecurityTokenService; Status Code:
  403; Error Code: AccessDenied; Request ID: ...; Proxy: null)``).

Tasks that stay inside the engine (nested executions, Lambda functions it runs, mocked
tasks) make no AWS call to sign: their role is the one the engine's IAM checks
(``service/iam_tasks.py``), the Task's when it names one.

A task row keeps the role with its payload (``stored_payload``/``loaded_payload``), so a
task dispatched again after a restart runs as the same role.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stepfn.jsontext import compact
from stepfn.tasks.base import TaskOutcome

STS_RESOURCE = "arn:aws:states:::aws-sdk:sts:assumeRole"
REFRESH_MARGIN = 300.0  # seconds before expiry at which credentials are asked for again
DURATION_SECONDS = 3600  # what AssumeRole is asked for (STS's default)
SESSION_NAME = re.compile(r"[^\w+=,.@-]")


@dataclass(frozen=True)
class RoleCredentials:
    """Temporary credentials of an assumed role."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expires: float  # seconds since the epoch
    owner: tuple[str, str] = ("", "")  # (role ARN, state machine ARN) they were asked for


class AssumeRoleRefused(Exception):
    """STS refused (or could not be asked for) a role's credentials."""

    def __init__(self, outcome: TaskOutcome) -> None:
        super().__init__(outcome.cause)
        self.outcome = outcome


def session_name(state_machine_name: str) -> str:
    """A ``RoleSessionName`` STS takes (2 to 64 of ``[\\w+=,.@-]``) from a machine's name."""
    name = SESSION_NAME.sub("-", state_machine_name)[:64]
    return name if len(name) >= 2 else (name + "--")[:2]


def refused(code: str, message: str | None, status: Any, request_id: str) -> TaskOutcome:
    """The task's failure when STS refuses the role, as Step Functions reports it."""
    return TaskOutcome.failure(
        "States.TaskFailed",
        f"{message or code} (Service: AWSSecurityTokenService; Status Code: {status}; "
        f"Error Code: {code}; Request ID: {request_id or 'null'}; Proxy: null)",
    )


class AssumedRoles:
    """Credentials of assumed roles, asked of STS once and kept until near expiry.

    ``sts``: ``sts(region) -> (client, or None when nothing routes STS)``; ``now``: the
    wall clock (credentials expire in real time, whatever clock runs the executions).
    """

    def __init__(
        self,
        sts: Callable[[str], Any],
        now: Callable[[], float],
        *,
        margin: float = REFRESH_MARGIN,
    ) -> None:
        self._sts = sts
        self._now = now
        self._margin = margin
        self._held: dict[tuple[str, str, str], RoleCredentials] = {}
        self._lock = threading.Lock()
        self.calls = 0  # AssumeRole calls made (what the cache saves shows here)

    def credentials(
        self, role_arn: str, state_machine_arn: str, state_machine_name: str, region: str
    ) -> RoleCredentials:
        """The role's credentials, from the cache or from STS.

        Raises:
            AssumeRoleRefused: STS refused, could not be reached, or is not routed.
        """
        key = (role_arn, state_machine_arn, region)
        with self._lock:
            held = self._held.get(key)
        if held is not None and held.expires - self._margin > self._now():
            return held
        fresh = self._assume(role_arn, state_machine_arn, state_machine_name, region)
        with self._lock:
            self._held[key] = fresh
        return fresh

    def _assume(
        self, role_arn: str, state_machine_arn: str, state_machine_name: str, region: str
    ) -> RoleCredentials:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._sts(region)
        if client is None:
            raise AssumeRoleRefused(
                TaskOutcome.failure(
                    "States.TaskFailed",
                    f"The Task's Credentials name the role '{role_arn}', but no route sends "
                    f"STS AssumeRole anywhere: add a route for '{STS_RESOURCE}' or set "
                    "AWS_ENDPOINT_URL_STS (see docs/integrations.md#credentials).",
                )
            )
        with self._lock:
            self.calls += 1
        try:
            answer = client.assume_role(
                RoleArn=role_arn,
                RoleSessionName=session_name(state_machine_name),
                ExternalId=state_machine_arn,
                DurationSeconds=DURATION_SECONDS,
            )
        except ClientError as exc:
            error = exc.response.get("Error") or {}
            meta = exc.response.get("ResponseMetadata") or {}
            raise AssumeRoleRefused(
                refused(
                    str(error.get("Code") or "Unknown"),
                    error.get("Message"),
                    meta.get("HTTPStatusCode"),
                    str(meta.get("RequestId") or ""),
                )
            ) from None
        except BotoCoreError as exc:
            raise AssumeRoleRefused(
                TaskOutcome.failure(
                    "States.TaskFailed", f"Unable to execute HTTP request: {exc} (STS AssumeRole)"
                )
            ) from None
        given = answer["Credentials"]
        return RoleCredentials(
            given["AccessKeyId"],
            given["SecretAccessKey"],
            given["SessionToken"],
            given["Expiration"].timestamp(),
            (role_arn, state_machine_arn),
        )


# --- the task row ----------------------------------------------------------------------------

_PAYLOAD = "stepfn:payload"
_ROLE = "stepfn:roleArn"


def stored_payload(payload: Any, role_arn: str | None) -> str:
    """A task's payload as its row keeps it: the JSON text of the payload, or, when the
    Task names a role, of both (read back by ``loaded_payload``)."""
    value = payload if role_arn is None else {_PAYLOAD: payload, _ROLE: role_arn}
    return compact(value)


def loaded_payload(text: str) -> tuple[Any, str | None]:
    """``(payload, role ARN or None)`` of a task row's payload text."""
    value = json.loads(text)
    if isinstance(value, dict) and len(value) == 2 and _PAYLOAD in value and _ROLE in value:
        return value[_PAYLOAD], value[_ROLE]
    return value, None
