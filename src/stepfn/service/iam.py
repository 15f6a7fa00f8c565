"""IAM and STS: the roles state machines run as and the policies that say what they may do.

The operations the Terraform AWS provider calls for ``aws_iam_role``, ``aws_iam_policy``
and ``aws_iam_role_policy_attachment`` (and the ``aws`` CLI's everyday ones), with boto3's
names and shapes: roles with tags and inline policies, customer managed policies with
their versions, attachments, and STS ``GetCallerIdentity``. Everything is durable in the
store. ``api/query.py`` serves them over the AWS Query protocol.

Policy documents are kept as the exact text sent, and answered URL-encoded where IAM
answers them so (``AssumeRolePolicyDocument``, a policy version's ``Document``, an
inline policy's ``PolicyDocument``); boto3 and the Terraform provider decode them.

``role_documents(role_arn)`` is what enforcement reads (``service/iam_tasks.py``): the
policy documents of a role that exists, or None for a role IAM does not know.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from stepfn import arns
from stepfn.errors import ServiceError
from stepfn.service.context import ServiceContext
from stepfn.store.base import Conflict
from stepfn.store.iam import PolicyRecord, PolicyVersionRecord, RoleRecord

_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
_PATH = re.compile(r"^(/|/[\x21-\x7e]{0,510}/)$")
MAX_POLICY_VERSIONS = 5
MAX_DOCUMENT = 131072
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

Operation = Callable[..., dict[str, Any]]


def no_such_entity(message: str) -> ServiceError:
    """IAM's 404."""
    return ServiceError("NoSuchEntity", message, 404)


def _validation(message: str) -> ServiceError:
    return ServiceError("ValidationError", message)


def _date(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


def _encoded(document: str) -> str:
    # IAM answers documents URL-encoded (RFC 3986), which boto3 and the provider decode.
    return quote(document, safe="")


def _check_name(value: Any, member: str, pattern: re.Pattern[str] = _NAME) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise _validation(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )
    return value


def _check_path(path: Any) -> str:
    if path is None:
        return "/"
    if not isinstance(path, str) or not _PATH.match(path):
        raise _validation(
            f"The specified value for path is invalid. It must begin and end with / and "
            f"contain only alphanumeric characters and/or / characters: {path}"
        )
    return path


def check_document(document: Any, member: str = "policyDocument") -> str:
    """A policy document as sent: JSON with a ``Statement``; ``MalformedPolicyDocument``
    otherwise."""
    if not isinstance(document, str) or not document.strip():
        raise _validation(f"{member} is required and must be a JSON policy document")
    if len(document) > MAX_DOCUMENT:
        raise ServiceError("LimitExceeded", f"Cannot exceed quota for {member}: {MAX_DOCUMENT}")
    try:
        parsed = json.loads(document)
    except ValueError:
        raise ServiceError("MalformedPolicyDocument", "Syntax errors in policy.") from None
    if not isinstance(parsed, dict):
        raise ServiceError("MalformedPolicyDocument", "Syntax errors in policy.")
    statements = parsed.get("Statement")
    if statements is None:
        raise ServiceError("MalformedPolicyDocument", "Policy document must contain Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            raise ServiceError(
                "MalformedPolicyDocument", "Policy statement must contain a valid Effect"
            )
    return document


def _tags(tags: Any) -> list[dict[str, str]]:
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise _validation("Tags must be a list of Key and Value")
    found: dict[str, str] = {}
    for tag in tags:
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str):
            raise _validation("Each tag needs a Key")
        found[tag["Key"]] = str(tag.get("Value", ""))
    if len(found) > 50:
        raise ServiceError("LimitExceeded", "A resource can have at most 50 tags")
    return [{"Key": k, "Value": v} for k, v in found.items()]


def _merge_tags(old: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {t["Key"]: t["Value"] for t in old}
    merged.update({t["Key"]: t["Value"] for t in new})
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def _untagged(tags: list[dict[str, str]], keys: Any) -> list[dict[str, str]]:
    """``tags`` without those whose key is one of ``keys`` (UntagRole, UntagPolicy)."""
    drop = set(keys or ())
    return [t for t in tags if t["Key"] not in drop]


def _page(items: list[Any], marker: Any, max_items: Any, key: str) -> dict[str, Any]:
    """One page of a listing: IAM's ``Marker``/``IsTruncated``."""
    start = int(marker) if isinstance(marker, str) and marker.isdigit() else 0
    size = int(max_items) if max_items else 100
    page = items[start : start + size]
    result: dict[str, Any] = {key: page, "IsTruncated": start + size < len(items)}
    if result["IsTruncated"]:
        result["Marker"] = str(start + size)
    return result


ROLE_CACHE_SECONDS = 1.0  # how long a role's documents are read again at most
ROLE_CACHE_SIZE = 1024  # roles kept at once (all forgotten past it)


class Iam:
    """IAM roles and policies, and STS's caller identity, over the store."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.arns = ctx.arns
        # role ARN -> (until when, IAM generation, its documents): see role_documents
        self._role_documents: dict[str, tuple[float, int, list[str] | None]] = {}
        self.operations: dict[str, Operation] = {
            name: getattr(self, arns_name)
            for name, arns_name in (
                ("CreateRole", "create_role"),
                ("GetRole", "get_role"),
                ("DeleteRole", "delete_role"),
                ("ListRoles", "list_roles"),
                ("UpdateRole", "update_role"),
                ("UpdateRoleDescription", "update_role_description"),
                ("UpdateAssumeRolePolicy", "update_assume_role_policy"),
                ("TagRole", "tag_role"),
                ("UntagRole", "untag_role"),
                ("ListRoleTags", "list_role_tags"),
                ("CreatePolicy", "create_policy"),
                ("GetPolicy", "get_policy"),
                ("DeletePolicy", "delete_policy"),
                ("ListPolicies", "list_policies"),
                ("CreatePolicyVersion", "create_policy_version"),
                ("GetPolicyVersion", "get_policy_version"),
                ("ListPolicyVersions", "list_policy_versions"),
                ("DeletePolicyVersion", "delete_policy_version"),
                ("SetDefaultPolicyVersion", "set_default_policy_version"),
                ("TagPolicy", "tag_policy"),
                ("UntagPolicy", "untag_policy"),
                ("ListPolicyTags", "list_policy_tags"),
                ("AttachRolePolicy", "attach_role_policy"),
                ("DetachRolePolicy", "detach_role_policy"),
                ("ListAttachedRolePolicies", "list_attached_role_policies"),
                ("ListEntitiesForPolicy", "list_entities_for_policy"),
                ("PutRolePolicy", "put_role_policy"),
                ("GetRolePolicy", "get_role_policy"),
                ("DeleteRolePolicy", "delete_role_policy"),
                ("ListRolePolicies", "list_role_policies"),
                ("ListInstanceProfilesForRole", "list_instance_profiles_for_role"),
            )
        }
        self.sts_operations: dict[str, Operation] = {"GetCallerIdentity": self.get_caller_identity}

    def _id(self, prefix: str) -> str:
        digits = self.ctx.ids.uuid().replace("-", "")
        value = int(digits, 16)
        chars = []
        for _ in range(17):
            value, rest = divmod(value, 32)
            chars.append(_ID_ALPHABET[rest])
        return prefix + "".join(chars)

    # --- roles ------------------------------------------------------------------------------

    def _role(self, name: Any) -> RoleRecord:
        role = self.store.get_role(_check_name(name, "roleName"))
        if role is None:
            raise no_such_entity(f"The role with name {name} cannot be found.")
        return role

    def _role_shape(self, role: RoleRecord) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "Path": role.path,
            "RoleName": role.name,
            "RoleId": role.role_id,
            "Arn": role.arn,
            "CreateDate": _date(role.create_date),
            "AssumeRolePolicyDocument": _encoded(role.assume_role_policy),
        }
        if role.description is not None:
            shape["Description"] = role.description
        shape["MaxSessionDuration"] = role.max_session_duration
        if role.tags:
            shape["Tags"] = role.tags
        shape["RoleLastUsed"] = {}
        return shape

    def create_role(
        self,
        RoleName: Any = None,
        AssumeRolePolicyDocument: Any = None,
        Path: Any = None,
        Description: Any = None,
        MaxSessionDuration: Any = None,
        Tags: Any = None,
        PermissionsBoundary: Any = None,
    ) -> dict[str, Any]:
        """CreateRole."""
        name = _check_name(RoleName, "roleName")
        document = check_document(AssumeRolePolicyDocument, "assumeRolePolicyDocument")
        path = _check_path(Path)
        duration = int(MaxSessionDuration) if MaxSessionDuration else 3600
        if not 3600 <= duration <= 43200:
            raise _validation("MaxSessionDuration must be between 3600 and 43200 seconds")
        role = RoleRecord(
            name=name,
            role_id=self._id("AROA"),
            arn=self.arns.role(name, path),
            path=path,
            assume_role_policy=document,
            description=Description if isinstance(Description, str) else None,
            max_session_duration=duration,
            create_date=self.ctx.clock.now(),
            tags=_tags(Tags),
        )
        if self.store.get_role(name) is not None:
            raise ServiceError("EntityAlreadyExists", f"Role with name {name} already exists.", 409)
        try:
            self.store.insert_role(role)
        except Conflict:
            raise ServiceError(
                "EntityAlreadyExists", f"Role with name {name} already exists.", 409
            ) from None
        return {"Role": self._role_shape(role)}

    def get_role(self, RoleName: Any = None) -> dict[str, Any]:
        """GetRole."""
        return {"Role": self._role_shape(self._role(RoleName))}

    def list_roles(
        self, PathPrefix: Any = None, Marker: Any = None, MaxItems: Any = None
    ) -> dict[str, Any]:
        """ListRoles."""
        prefix = PathPrefix if isinstance(PathPrefix, str) else "/"
        roles = [self._role_shape(r) for r in self.store.list_roles() if r.path.startswith(prefix)]
        for role in roles:
            role.pop("Tags", None)
            role.pop("RoleLastUsed", None)
        return _page(roles, Marker, MaxItems, "Roles")

    def delete_role(self, RoleName: Any = None) -> dict[str, Any]:
        """DeleteRole: refused while policies are attached or inline, as IAM refuses it."""
        role = self._role(RoleName)
        if self.store.attached_role_policies(role.name) or self.store.role_policies(role.name):
            raise ServiceError(
                "DeleteConflict", "Cannot delete entity, must detach all policies first.", 409
            )
        self.store.delete_role(role.name)
        return {}

    def update_role(
        self, RoleName: Any = None, Description: Any = None, MaxSessionDuration: Any = None
    ) -> dict[str, Any]:
        """UpdateRole."""
        role = self._role(RoleName)
        if isinstance(Description, str):
            role.description = Description
        if MaxSessionDuration:
            role.max_session_duration = int(MaxSessionDuration)
        self.store.update_role(role)
        return {}

    def update_role_description(
        self, RoleName: Any = None, Description: Any = None
    ) -> dict[str, Any]:
        """UpdateRoleDescription."""
        self.update_role(RoleName=RoleName, Description=Description)
        return {"Role": self._role_shape(self._role(RoleName))}

    def update_assume_role_policy(
        self, RoleName: Any = None, PolicyDocument: Any = None
    ) -> dict[str, Any]:
        """UpdateAssumeRolePolicy."""
        role = self._role(RoleName)
        role.assume_role_policy = check_document(PolicyDocument)
        self.store.update_role(role)
        return {}

    def tag_role(self, RoleName: Any = None, Tags: Any = None) -> dict[str, Any]:
        """TagRole."""
        role = self._role(RoleName)
        role.tags = _merge_tags(role.tags, _tags(Tags))
        self.store.update_role(role)
        return {}

    def untag_role(self, RoleName: Any = None, TagKeys: Any = None) -> dict[str, Any]:
        """UntagRole."""
        role = self._role(RoleName)
        role.tags = _untagged(role.tags, TagKeys)
        self.store.update_role(role)
        return {}

    def list_role_tags(
        self, RoleName: Any = None, Marker: Any = None, MaxItems: Any = None
    ) -> dict[str, Any]:
        """ListRoleTags."""
        return _page(self._role(RoleName).tags, Marker, MaxItems, "Tags")

    # --- managed policies -------------------------------------------------------------------

    def _policy(self, arn: Any) -> PolicyRecord:
        policy = self.store.get_policy(arn) if isinstance(arn, str) else None
        if policy is None:
            raise no_such_entity(f"Policy {arn} does not exist or is not attachable.")
        return policy

    @staticmethod
    def _policy_shape(policy: PolicyRecord, tags: bool = True) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "PolicyName": policy.name,
            "PolicyId": policy.policy_id,
            "Arn": policy.arn,
            "Path": policy.path,
            "DefaultVersionId": policy.default_version_id,
            "AttachmentCount": policy.attachment_count,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
        }
        if policy.description is not None:
            shape["Description"] = policy.description
        shape["CreateDate"] = _date(policy.create_date)
        shape["UpdateDate"] = _date(policy.update_date)
        if tags and policy.tags:
            shape["Tags"] = policy.tags
        return shape

    @staticmethod
    def _version_shape(version: PolicyVersionRecord, default: str) -> dict[str, Any]:
        return {
            "Document": _encoded(version.document),
            "VersionId": version.version_id,
            "IsDefaultVersion": version.version_id == default,
            "CreateDate": _date(version.create_date),
        }

    def create_policy(
        self,
        PolicyName: Any = None,
        PolicyDocument: Any = None,
        Path: Any = None,
        Description: Any = None,
        Tags: Any = None,
    ) -> dict[str, Any]:
        """CreatePolicy."""
        name = _check_name(PolicyName, "policyName", _POLICY_NAME)
        document = check_document(PolicyDocument)
        path = _check_path(Path)
        arn = self.arns.iam_policy(name, path)
        now = self.ctx.clock.now()
        policy = PolicyRecord(
            arn=arn,
            name=name,
            policy_id=self._id("ANPA"),
            path=path,
            description=Description if isinstance(Description, str) else None,
            default_version_id="v1",
            next_version=2,
            create_date=now,
            update_date=now,
            tags=_tags(Tags),
        )
        exists = ServiceError(
            "EntityAlreadyExists",
            f"A policy called {name} already exists. Duplicate names are not allowed.",
            409,
        )
        if self.store.get_policy(arn) is not None:
            raise exists
        try:
            self.store.insert_policy(policy, PolicyVersionRecord(arn, "v1", document, now))
        except Conflict:
            raise exists from None
        shape = self._policy_shape(policy)
        shape.pop("Description", None)  # CreatePolicy's answer leaves it out, as IAM's does
        return {"Policy": shape}

    def get_policy(self, PolicyArn: Any = None) -> dict[str, Any]:
        """GetPolicy."""
        return {"Policy": self._policy_shape(self._policy(PolicyArn))}

    def list_policies(
        self,
        Scope: Any = None,
        OnlyAttached: Any = None,
        PathPrefix: Any = None,
        PolicyUsageFilter: Any = None,
        Marker: Any = None,
        MaxItems: Any = None,
    ) -> dict[str, Any]:
        """ListPolicies (customer managed policies only: there are no AWS managed ones)."""
        if Scope == "AWS":
            return {"Policies": [], "IsTruncated": False}
        prefix = PathPrefix if isinstance(PathPrefix, str) else "/"
        attached_only = OnlyAttached in (True, "true")
        found = [
            self._policy_shape(p, tags=False)
            for p in self.store.list_policies()
            if p.path.startswith(prefix) and (p.attachment_count or not attached_only)
        ]
        return _page(found, Marker, MaxItems, "Policies")

    def delete_policy(self, PolicyArn: Any = None) -> dict[str, Any]:
        """DeletePolicy: refused while attached or with versions besides the default."""
        policy = self._policy(PolicyArn)
        if policy.attachment_count:
            raise ServiceError(
                "DeleteConflict", "Cannot delete a policy attached to entities.", 409
            )
        if len(self.store.list_policy_versions(policy.arn)) > 1:
            raise ServiceError(
                "DeleteConflict",
                "This policy has more than one version. Before you delete a policy, you must "
                "delete the policy's versions. The default version is deleted with the policy.",
                409,
            )
        self.store.delete_policy(policy.arn)
        return {}

    def create_policy_version(
        self, PolicyArn: Any = None, PolicyDocument: Any = None, SetAsDefault: Any = None
    ) -> dict[str, Any]:
        """CreatePolicyVersion (at most five versions, as IAM keeps)."""
        policy = self._policy(PolicyArn)
        document = check_document(PolicyDocument)
        if len(self.store.list_policy_versions(policy.arn)) >= MAX_POLICY_VERSIONS:
            raise ServiceError(
                "LimitExceeded",
                f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you "
                "create a new version, you must delete an existing version.",
                409,
            )
        now = self.ctx.clock.now()
        version = PolicyVersionRecord(policy.arn, f"v{policy.next_version}", document, now)
        policy.next_version += 1
        policy.update_date = now
        if SetAsDefault in (True, "true"):
            policy.default_version_id = version.version_id
        self.store.add_policy_version(policy, version)
        return {"PolicyVersion": self._version_shape(version, policy.default_version_id)}

    def _version(self, policy: PolicyRecord, version_id: Any) -> PolicyVersionRecord:
        for version in self.store.list_policy_versions(policy.arn):
            if version.version_id == version_id:
                return version
        raise no_such_entity(f"Policy {policy.arn} version {version_id} does not exist.")

    def get_policy_version(self, PolicyArn: Any = None, VersionId: Any = None) -> dict[str, Any]:
        """GetPolicyVersion."""
        policy = self._policy(PolicyArn)
        version = self._version(policy, VersionId)
        return {"PolicyVersion": self._version_shape(version, policy.default_version_id)}

    def list_policy_versions(
        self, PolicyArn: Any = None, Marker: Any = None, MaxItems: Any = None
    ) -> dict[str, Any]:
        """ListPolicyVersions, newest first."""
        policy = self._policy(PolicyArn)
        versions = [
            self._version_shape(v, policy.default_version_id)
            for v in self.store.list_policy_versions(policy.arn)
        ]
        for version in versions:
            version.pop("Document")
        return _page(versions, Marker, MaxItems, "Versions")

    def delete_policy_version(self, PolicyArn: Any = None, VersionId: Any = None) -> dict[str, Any]:
        """DeletePolicyVersion (never the default one)."""
        policy = self._policy(PolicyArn)
        version = self._version(policy, VersionId)
        if version.version_id == policy.default_version_id:
            raise ServiceError(
                "DeleteConflict", "Cannot delete the default version of a policy.", 409
            )
        self.store.delete_policy_version(policy.arn, version.version_id)
        return {}

    def set_default_policy_version(
        self, PolicyArn: Any = None, VersionId: Any = None
    ) -> dict[str, Any]:
        """SetDefaultPolicyVersion."""
        policy = self._policy(PolicyArn)
        policy.default_version_id = self._version(policy, VersionId).version_id
        policy.update_date = self.ctx.clock.now()
        self.store.update_policy(policy)
        return {}

    def tag_policy(self, PolicyArn: Any = None, Tags: Any = None) -> dict[str, Any]:
        """TagPolicy."""
        policy = self._policy(PolicyArn)
        policy.tags = _merge_tags(policy.tags, _tags(Tags))
        self.store.update_policy(policy)
        return {}

    def untag_policy(self, PolicyArn: Any = None, TagKeys: Any = None) -> dict[str, Any]:
        """UntagPolicy."""
        policy = self._policy(PolicyArn)
        policy.tags = _untagged(policy.tags, TagKeys)
        self.store.update_policy(policy)
        return {}

    def list_policy_tags(
        self, PolicyArn: Any = None, Marker: Any = None, MaxItems: Any = None
    ) -> dict[str, Any]:
        """ListPolicyTags."""
        return _page(self._policy(PolicyArn).tags, Marker, MaxItems, "Tags")

    # --- attachments and inline policies ------------------------------------------------------

    def attach_role_policy(self, RoleName: Any = None, PolicyArn: Any = None) -> dict[str, Any]:
        """AttachRolePolicy."""
        role = self._role(RoleName)
        policy = self._policy(PolicyArn)
        self.store.attach_role_policy(role.name, policy.arn)
        return {}

    def detach_role_policy(self, RoleName: Any = None, PolicyArn: Any = None) -> dict[str, Any]:
        """DetachRolePolicy."""
        role = self._role(RoleName)
        if not self.store.detach_role_policy(role.name, str(PolicyArn)):
            raise no_such_entity(f"Policy {PolicyArn} was not found.")
        return {}

    def list_attached_role_policies(
        self,
        RoleName: Any = None,
        PathPrefix: Any = None,
        Marker: Any = None,
        MaxItems: Any = None,
    ) -> dict[str, Any]:
        """ListAttachedRolePolicies."""
        role = self._role(RoleName)
        attached = []
        for arn in self.store.attached_role_policies(role.name):
            policy = self.store.get_policy(arn)
            name = policy.name if policy is not None else arn.rsplit("/", 1)[-1]
            attached.append({"PolicyName": name, "PolicyArn": arn})
        return _page(attached, Marker, MaxItems, "AttachedPolicies")

    def list_entities_for_policy(
        self,
        PolicyArn: Any = None,
        EntityFilter: Any = None,
        PathPrefix: Any = None,
        PolicyUsageFilter: Any = None,
        Marker: Any = None,
        MaxItems: Any = None,
    ) -> dict[str, Any]:
        """ListEntitiesForPolicy (roles only: there are no users or groups)."""
        policy = self._policy(PolicyArn)
        roles = [
            {"RoleName": r.name, "RoleId": r.role_id}
            for r in self.store.list_roles()
            if policy.arn in self.store.attached_role_policies(r.name)
        ]
        page = _page(roles, Marker, MaxItems, "PolicyRoles")
        return {"PolicyGroups": [], "PolicyUsers": [], **page}

    def put_role_policy(
        self, RoleName: Any = None, PolicyName: Any = None, PolicyDocument: Any = None
    ) -> dict[str, Any]:
        """PutRolePolicy."""
        role = self._role(RoleName)
        name = _check_name(PolicyName, "policyName", _POLICY_NAME)
        self.store.put_role_policy(role.name, name, check_document(PolicyDocument))
        return {}

    def get_role_policy(self, RoleName: Any = None, PolicyName: Any = None) -> dict[str, Any]:
        """GetRolePolicy."""
        role = self._role(RoleName)
        document = self.store.role_policies(role.name).get(str(PolicyName))
        if document is None:
            raise no_such_entity(f"The role policy with name {PolicyName} cannot be found.")
        return {
            "RoleName": role.name,
            "PolicyName": PolicyName,
            "PolicyDocument": _encoded(document),
        }

    def delete_role_policy(self, RoleName: Any = None, PolicyName: Any = None) -> dict[str, Any]:
        """DeleteRolePolicy."""
        role = self._role(RoleName)
        if not self.store.delete_role_policy(role.name, str(PolicyName)):
            raise no_such_entity(f"The role policy with name {PolicyName} cannot be found.")
        return {}

    def list_role_policies(
        self, RoleName: Any = None, Marker: Any = None, MaxItems: Any = None
    ) -> dict[str, Any]:
        """ListRolePolicies: the names of a role's inline policies."""
        role = self._role(RoleName)
        return _page(list(self.store.role_policies(role.name)), Marker, MaxItems, "PolicyNames")

    def list_instance_profiles_for_role(
        self, RoleName: Any = None, Marker: Any = None, MaxItems: Any = None
    ) -> dict[str, Any]:
        """ListInstanceProfilesForRole: none (there are no instance profiles here)."""
        self._role(RoleName)
        return {"InstanceProfiles": [], "IsTruncated": False}

    # --- STS ------------------------------------------------------------------------------

    def get_caller_identity(self) -> dict[str, Any]:
        """STS GetCallerIdentity: the account's root, whatever the credentials."""
        return {
            "UserId": self.ctx.account,
            "Account": self.ctx.account,
            "Arn": self.arns.account_root(),
        }

    # --- enforcement --------------------------------------------------------------------------

    def role_documents(self, role_arn: str) -> list[str] | None:
        """The policy documents of the role ``role_arn`` names (attached policies' default
        versions and inline policies); None when IAM has no such role.

        Every task of an execution asks for them, so they are kept for a moment: until
        an IAM write of this process (``iam_generation``), or ``ROLE_CACHE_SECONDS``
        for another server's writes on a shared database (as AWS's IAM takes a moment
        to show a change everywhere). The list is shared: callers only read it."""
        generation = self.store.iam_generation()
        now = time.monotonic()
        kept = self._role_documents.get(role_arn)
        if kept is not None and kept[0] > now and kept[1] == generation:
            return kept[2]
        documents = self._read_role_documents(role_arn)
        if len(self._role_documents) >= ROLE_CACHE_SIZE:
            self._role_documents.clear()
        self._role_documents[role_arn] = (now + ROLE_CACHE_SECONDS, generation, documents)
        return documents

    def _read_role_documents(self, role_arn: str) -> list[str] | None:
        name = arns.role_name(role_arn)
        role = self.store.get_role(name) if name else None
        if role is None or role.arn != role_arn:
            return None
        documents: list[str] = []
        for arn in self.store.attached_role_policies(role.name):
            policy = self.store.get_policy(arn)
            if policy is None:
                continue
            for version in self.store.list_policy_versions(arn):
                if version.version_id == policy.default_version_id:
                    documents.append(version.document)
        documents.extend(self.store.role_policies(role.name).values())
        return documents
