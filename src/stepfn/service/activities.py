"""Activities and tags: CreateActivity, DescribeActivity, DeleteActivity,
ListActivities, TagResource, UntagResource and ListTagsForResource.

Activities are named queues of tasks that outside workers poll (``GetActivityTask``,
on the execution side). Tags belong to state machines and activities only: AWS answers
a version or an alias ARN with ``Resource not found`` (recorded), and so do we.
"""

from __future__ import annotations

from typing import Any

from stepfn.arns import ACTIVITY, STATE_MACHINE, parse_arn, parse_state_machine_arn
from stepfn.errors import ServiceError
from stepfn.service.context import ServiceContext
from stepfn.service.control_base import (
    VERSION_COUNTER_TAG,
    ControlBase,
    timestamp,
    too_many_tags,
)
from stepfn.store.base import ActivityRecord, Conflict
from stepfn.validation.rules import (
    DEFAULT_ENCRYPTION,
    MAX_TAGS,
    check_resource_name,
    listing,
    normalize_encryption,
    tag_pairs,
)


class Activities:
    """The activity and tagging operations (tags of state machines as well)."""

    def __init__(self, ctx: ServiceContext, machines: ControlBase) -> None:
        self.store = ctx.store
        self.clock = ctx.clock
        self.arns = ctx.arns
        self.machines = machines

    # --- activities ----------------------------------------------------------------------

    def create_activity(
        self,
        name: str,
        tags: list[dict[str, str]] | None = None,
        encryptionConfiguration: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """CreateActivity, idempotent on the name (tags of a repeat are ignored)."""
        pairs = tag_pairs(tags)
        check_resource_name(name)
        normalize_encryption(encryptionConfiguration)
        arn = self.arns.activity(name)
        wanted_tags = dict(pairs)
        if len(wanted_tags) > MAX_TAGS:
            raise too_many_tags(arn)
        existing = self.store.get_activity(arn)
        if existing is None:
            record = ActivityRecord(arn=arn, name=name, creation_date=self.clock.now())
            try:
                self.store.insert_activity(record)
            except Conflict:
                existing = self.store.get_activity(arn)
                if existing is None:
                    raise
            else:
                if wanted_tags:
                    self.store.set_tags(arn, wanted_tags)
                existing = record
        return {"activityArn": existing.arn, "creationDate": timestamp(existing.creation_date)}

    def describe_activity(self, activityArn: str) -> dict[str, Any]:
        """DescribeActivity."""
        record = self._activity(activityArn)
        return {
            "activityArn": record.arn,
            "name": record.name,
            "creationDate": timestamp(record.creation_date),
            # The store keeps no encryption of activities: AWS's default is described.
            "encryptionConfiguration": dict(DEFAULT_ENCRYPTION),
        }

    def delete_activity(self, activityArn: str) -> dict[str, Any]:
        """DeleteActivity; deleting one that is gone already succeeds, as on AWS."""
        arn = self._activity_arn(activityArn)
        if self.store.get_activity(arn) is not None:
            self.store.delete_activity(arn)
        return {}

    def list_activities(
        self, maxResults: int | None = None, nextToken: str | None = None
    ) -> dict[str, Any]:
        """ListActivities, by name."""
        return listing(
            self.store.list_activities(),
            lambda a: a.name,
            "activities",
            lambda a: {
                "activityArn": a.arn,
                "name": a.name,
                "creationDate": timestamp(a.creation_date),
            },
            scope="activities",
            max_results=maxResults,
            next_token=nextToken,
        )

    def _activity_arn(self, arn: Any) -> str:
        parse_arn(arn, (ACTIVITY,))
        return str(arn)

    def _activity(self, arn: str) -> ActivityRecord:
        record = self.store.get_activity(self._activity_arn(arn))
        if record is None:
            raise ServiceError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
        return record

    # --- tags ----------------------------------------------------------------------------

    def tag_resource(self, resourceArn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
        """TagResource: add or overwrite tags of a state machine or an activity."""
        pairs = tag_pairs(tags)
        arn = self._taggable(resourceArn)
        current = self._user_tags(arn)
        added = {k: v for k, v in pairs if k != VERSION_COUNTER_TAG}
        if len({**current, **added}) > MAX_TAGS:
            raise too_many_tags(arn)
        if added:
            self.store.set_tags(arn, added)
        return {}

    def untag_resource(self, resourceArn: str, tagKeys: list[str]) -> dict[str, Any]:
        """UntagResource: remove tags (keys not set are ignored)."""
        keys = list(tagKeys)
        arn = self._taggable(resourceArn)
        keys = [k for k in keys if k != VERSION_COUNTER_TAG]
        if keys:
            self.store.remove_tags(arn, keys)
        return {}

    def list_tags_for_resource(self, resourceArn: str) -> dict[str, Any]:
        """ListTagsForResource, in the order the tags were first set."""
        arn = self._taggable(resourceArn)
        return {"tags": [{"key": k, "value": v} for k, v in self._user_tags(arn).items()]}

    def _taggable(self, arn: str) -> str:
        """A state machine's or an activity's ARN; versions and aliases carry no tags
        (AWS answers them ``Resource not found``, recorded)."""
        parsed = parse_arn(arn, (STATE_MACHINE, ACTIVITY))
        not_found = ServiceError("ResourceNotFound", f"Resource not found: '{arn}'")
        if parsed.resource_type == ACTIVITY:
            if self.store.get_activity(arn) is None:
                raise not_found
            return arn
        ref = parse_state_machine_arn(arn)
        if ref.kind != "state_machine" or self.machines._state_machine_record(ref.base) is None:
            raise not_found
        return ref.base

    def _user_tags(self, arn: str) -> dict[str, str]:
        return {k: v for k, v in self.store.get_tags(arn).items() if k != VERSION_COUNTER_TAG}
