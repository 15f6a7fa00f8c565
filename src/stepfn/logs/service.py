"""The CloudWatch Logs operations stepfn serves, over the store's log groups and events.

Enough of CloudWatch Logs to read what executions log, with boto3's ``logs`` client or
``aws logs``, and to let tools that manage log groups (Terraform's
``aws_cloudwatch_log_group``) create, describe, tag and delete them. Each method is
named as boto3's ``logs`` client method, takes its keyword arguments and returns its
response shape; times are milliseconds since the epoch, as CloudWatch Logs has them.
Errors are ``ServiceError`` with CloudWatch Logs' codes (``ResourceNotFoundException``,
``ResourceAlreadyExistsException``, ``InvalidParameterException``).

Known differences from CloudWatch Logs, on purpose:

* a filter pattern is plain text: every term (a word, or a "quoted phrase") must occur
  in the message, case-sensitively; JSON (``{ $.type = ... }``) and space-delimited
  (``[...]``) patterns are refused, and ``?`` / ``-`` before a term have no meaning;
* retention is recorded and described, but events are not expired;
* one account and region: a log group is known by its name, whatever ARN names it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from stepfn.arns import ArnBuilder
from stepfn.clock import Clock
from stepfn.errors import ServiceError
from stepfn.logs.checks import (
    GROUP_CLASSES,
    GROUP_EXISTS,
    GROUP_MISSING,
    GROUP_PATTERN,
    IDENTIFIER_PATTERN,
    MAX_DESCRIBED,
    MAX_EVENTS,
    MAX_NAME,
    MAX_TAGS,
    NAME_AND_ARN,
    ORDERS,
    RETENTION_DAYS,
    START,
    STREAM_EXISTS,
    STREAM_MISSING,
    STREAM_PATTERN,
    check,
    check_name,
    check_page,
    decode_token,
    encode_token,
    filter_terms,
    invalid,
    not_found,
    parse_stream_token,
    position,
    stream_token,
)
from stepfn.logs.events import log_group_name, timestamp_ms
from stepfn.store.base import (
    Conflict,
    LogEventRecord,
    LogGroupRecord,
    LogQuery,
    LogStreamRecord,
    Store,
    StoreError,
)
from stepfn.validation.rules import Constraints, sequence, structure


class CloudWatchLogs:
    """CloudWatch Logs over a ``Store``: log groups, streams and events.

    Args:
        store: where the log groups and events are.
        clock: the time of creations and ingestions.
        region: the region in the ARNs this service shows.
        account: the account in those ARNs.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account = account

    def group_arn(self, name: str) -> str:
        """A log group's ARN, without the ``:*`` that DescribeLogGroups' ``arn`` adds."""
        return ArnBuilder(self.region, self.account).log_group(name)

    def _now(self) -> int:
        return timestamp_ms(self.clock.now())

    # --- log groups --------------------------------------------------------------------------

    def create_log_group(
        self,
        logGroupName: str,
        kmsKeyId: str | None = None,
        tags: dict[str, str] | None = None,
        logGroupClass: str | None = None,
    ) -> dict[str, Any]:
        """CreateLogGroup; ``ResourceAlreadyExistsException`` when the name is taken."""
        c = Constraints()
        check_name(c, logGroupName, "logGroupName", GROUP_PATTERN)
        c.string(kmsKeyId, "kmsKeyId", 0, 256)
        c.enum(logGroupClass, "logGroupClass", GROUP_CLASSES)
        pairs = self._tags(c, tags)
        check(c)
        record = LogGroupRecord(
            logGroupName,
            self._now(),
            kms_key_id=kmsKeyId,
            log_group_class=logGroupClass or "STANDARD",
        )
        try:
            self.store.create_log_group(record)
        except Conflict:
            raise ServiceError("ResourceAlreadyExistsException", GROUP_EXISTS) from None
        if pairs:
            self.store.set_tags(self.group_arn(logGroupName), pairs)
        return {}

    def delete_log_group(self, logGroupName: str) -> dict[str, Any]:
        """DeleteLogGroup: the group, its streams, events and tags."""
        group = self._group(logGroupName)
        arn = self.group_arn(group.name)
        self.store.delete_log_group(group.name)
        self.store.remove_tags(arn, list(self.store.get_tags(arn)))
        return {}

    def describe_log_groups(
        self,
        logGroupNamePrefix: str | None = None,
        logGroupNamePattern: str | None = None,
        nextToken: str | None = None,
        limit: int | None = None,
        logGroupClass: str | None = None,
        includeLinkedAccounts: bool | None = None,
        accountIdentifiers: list[str] | None = None,
        logGroupIdentifiers: list[str] | None = None,
    ) -> dict[str, Any]:
        """DescribeLogGroups, by name (a pattern matches anywhere, ignoring case)."""
        c = Constraints()
        check_name(c, logGroupNamePrefix, "logGroupNamePrefix", GROUP_PATTERN, required=False)
        c.string(logGroupNamePattern, "logGroupNamePattern", 0, MAX_NAME)
        c.enum(logGroupClass, "logGroupClass", GROUP_CLASSES)
        c.boolean(includeLinkedAccounts, "includeLinkedAccounts")
        check_page(c, limit, nextToken, MAX_DESCRIBED)
        wanted = sequence(logGroupIdentifiers, "logGroupIdentifiers")
        sequence(accountIdentifiers, "accountIdentifiers")
        check(c)
        if logGroupNamePrefix is not None and logGroupNamePattern is not None:
            raise invalid(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
            )
        groups = self.store.list_log_groups(logGroupNamePrefix)
        if logGroupNamePattern:
            needle = logGroupNamePattern.lower()
            groups = [g for g in groups if needle in g.name.lower()]
        if logGroupClass is not None:
            groups = [g for g in groups if g.log_group_class == logGroupClass]
        if wanted is not None:
            names = {self._group_name(str(w), "logGroupIdentifiers") for w in wanted}
            groups = [g for g in groups if g.name in names]
        start = (decode_token(nextToken, "offset") or {"offset": 0})["offset"]
        size = limit or MAX_DESCRIBED
        out: dict[str, Any] = {
            "logGroups": [self._group_shape(g) for g in groups[start : start + size]]
        }
        if start + size < len(groups):
            out["nextToken"] = encode_token({"offset": start + size})
        return out

    def _group_shape(self, group: LogGroupRecord) -> dict[str, Any]:
        arn = self.group_arn(group.name)
        out: dict[str, Any] = {"logGroupName": group.name, "creationTime": group.creation_time}
        if group.retention_in_days is not None:
            out["retentionInDays"] = group.retention_in_days
        out["metricFilterCount"] = 0
        out["arn"] = arn + ":*"
        out["storedBytes"] = group.stored_bytes
        if group.kms_key_id:
            out["kmsKeyId"] = group.kms_key_id
        out["logGroupClass"] = group.log_group_class
        out["logGroupArn"] = arn
        return out

    def put_retention_policy(self, logGroupName: str, retentionInDays: int) -> dict[str, Any]:
        """PutRetentionPolicy: recorded and described; stepfn expires no events."""
        c = Constraints()
        check_name(c, logGroupName, "logGroupName", GROUP_PATTERN)
        if (
            c.required(retentionInDays, "retentionInDays")
            and c.integer(retentionInDays, "retentionInDays", 1, 3653)
            and retentionInDays not in RETENTION_DAYS
        ):
            c.fail(
                retentionInDays,
                "retentionInDays",
                "Member must satisfy enum value set: "
                f"[{', '.join(str(d) for d in RETENTION_DAYS)}]",
            )
        check(c)
        group = self._group(logGroupName)
        group.retention_in_days = retentionInDays
        self.store.update_log_group(group)
        return {}

    def delete_retention_policy(self, logGroupName: str) -> dict[str, Any]:
        """DeleteRetentionPolicy: the group's events never expire (as in stepfn anyway)."""
        group = self._group(logGroupName)
        group.retention_in_days = None
        self.store.update_log_group(group)
        return {}

    # --- tags --------------------------------------------------------------------------------

    def _tags(self, c: Constraints, tags: Any) -> dict[str, str]:
        given = structure(tags, "tags")
        if given is None:
            return {}
        if len(given) > MAX_TAGS:
            c.fail(given, "tags", f"Member must have length less than or equal to {MAX_TAGS}")
        for key, value in given.items():
            c.string(key, "tags.key", 1, 128)
            c.string(value, f"tags.{key}.member", 0, 256)
        return {str(k): str(v) for k, v in given.items()}

    def _arn_group(self, arn: Any) -> LogGroupRecord:
        c = Constraints()
        if c.required(arn, "resourceArn"):
            c.string(arn, "resourceArn", 1, 1011)
        check(c)
        name = log_group_name(arn)
        if name is None:
            raise invalid(f"Invalid resource ARN: {arn}")
        return self._group(name)

    def tag_resource(self, resourceArn: str, tags: dict[str, str]) -> dict[str, Any]:
        """TagResource (of a log group)."""
        c = Constraints()
        c.required(tags, "tags")
        pairs = self._tags(c, tags)
        check(c)
        group = self._arn_group(resourceArn)
        self.store.set_tags(self.group_arn(group.name), pairs)
        return {}

    def untag_resource(self, resourceArn: str, tagKeys: list[str]) -> dict[str, Any]:
        """UntagResource (of a log group)."""
        keys = sequence(tagKeys, "tagKeys") or []
        group = self._arn_group(resourceArn)
        self.store.remove_tags(self.group_arn(group.name), [str(k) for k in keys])
        return {}

    def list_tags_for_resource(self, resourceArn: str) -> dict[str, Any]:
        """ListTagsForResource (of a log group)."""
        group = self._arn_group(resourceArn)
        return {"tags": self.store.get_tags(self.group_arn(group.name))}

    def tag_log_group(self, logGroupName: str, tags: dict[str, str]) -> dict[str, Any]:
        """TagLogGroup, the older form of TagResource."""
        return self.tag_resource(self.group_arn(self._group(logGroupName).name), tags)

    def untag_log_group(self, logGroupName: str, tags: list[str]) -> dict[str, Any]:
        """UntagLogGroup, the older form of UntagResource (``tags`` holds keys)."""
        return self.untag_resource(self.group_arn(self._group(logGroupName).name), tags)

    def list_tags_log_group(self, logGroupName: str) -> dict[str, Any]:
        """ListTagsLogGroup, the older form of ListTagsForResource."""
        return {"tags": self.store.get_tags(self.group_arn(self._group(logGroupName).name))}

    # --- log streams -------------------------------------------------------------------------

    def create_log_stream(self, logGroupName: str, logStreamName: str) -> dict[str, Any]:
        """CreateLogStream; ``ResourceAlreadyExistsException`` when it exists."""
        c = Constraints()
        check_name(c, logStreamName, "logStreamName", STREAM_PATTERN)
        check(c)
        group = self._group(logGroupName)
        try:
            self.store.create_log_stream(LogStreamRecord(group.name, logStreamName, self._now()))
        except Conflict:
            raise ServiceError("ResourceAlreadyExistsException", STREAM_EXISTS) from None
        except StoreError:  # the group went away meanwhile
            raise not_found(GROUP_MISSING) from None
        return {}

    def delete_log_stream(self, logGroupName: str, logStreamName: str) -> dict[str, Any]:
        """DeleteLogStream, with its events."""
        group = self._group(logGroupName)
        self._stream(group.name, logStreamName)
        self.store.delete_log_stream(group.name, logStreamName)
        return {}

    def describe_log_streams(
        self,
        logGroupName: str | None = None,
        logGroupIdentifier: str | None = None,
        logStreamNamePrefix: str | None = None,
        orderBy: str | None = None,
        descending: bool | None = None,
        nextToken: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """DescribeLogStreams, by name or by last event time."""
        c = Constraints()
        c.string(logStreamNamePrefix, "logStreamNamePrefix", 1, MAX_NAME)
        c.enum(orderBy, "orderBy", ORDERS)
        c.boolean(descending, "descending")
        check_page(c, limit, nextToken, MAX_DESCRIBED)
        check(c)
        group = self._group_of(logGroupName, logGroupIdentifier)
        if orderBy == "LastEventTime" and logStreamNamePrefix is not None:
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        streams = self.store.list_log_streams(group.name, logStreamNamePrefix)
        if orderBy == "LastEventTime":
            # Streams without events first, as the oldest; ties by name.
            streams.sort(key=lambda s: (s.last_event_timestamp or 0, s.name))
        if descending:
            streams.reverse()
        start = (decode_token(nextToken, "offset") or {"offset": 0})["offset"]
        size = limit or MAX_DESCRIBED
        arn = self.group_arn(group.name)
        out: dict[str, Any] = {
            "logStreams": [self._stream_shape(arn, s) for s in streams[start : start + size]]
        }
        if start + size < len(streams):
            out["nextToken"] = encode_token({"offset": start + size})
        return out

    @staticmethod
    def _stream_shape(group_arn: str, stream: LogStreamRecord) -> dict[str, Any]:
        out: dict[str, Any] = {"logStreamName": stream.name, "creationTime": stream.creation_time}
        if stream.first_event_timestamp is not None:
            out["firstEventTimestamp"] = stream.first_event_timestamp
            out["lastEventTimestamp"] = stream.last_event_timestamp
        if stream.last_ingestion_time is not None:
            out["lastIngestionTime"] = stream.last_ingestion_time
        out["uploadSequenceToken"] = str(stream.stored_bytes + 1)
        out["arn"] = f"{group_arn}:log-stream:{stream.name}"
        out["storedBytes"] = stream.stored_bytes
        return out

    # --- events ------------------------------------------------------------------------------

    def put_log_events(
        self,
        logGroupName: str,
        logStreamName: str,
        logEvents: list[dict[str, Any]],
        sequenceToken: str | None = None,
    ) -> dict[str, Any]:
        """PutLogEvents into an existing stream, in chronological order (the sequence
        token is not needed, as on AWS today)."""
        given = sequence(logEvents, "logEvents") or []
        c = Constraints()
        if not given:
            c.fail(given, "logEvents", "Member must have length greater than or equal to 1")
        events: list[tuple[int, str]] = []
        for i, item in enumerate(given):
            where = f"logEvents.{i + 1}.member"
            entry = structure(item, where) or {}
            timestamp, message = entry.get("timestamp"), entry.get("message")
            fine = c.required(timestamp, f"{where}.timestamp")
            fine = c.integer(timestamp, f"{where}.timestamp", 0, 2**63 - 1) and fine
            if c.required(message, f"{where}.message"):
                fine = c.string(message, f"{where}.message", 1, None) and fine
            else:
                fine = False
            if fine and isinstance(timestamp, int) and isinstance(message, str):
                events.append((timestamp, message))
        check(c)
        group = self._group(logGroupName)
        self._stream(group.name, logStreamName)
        if any(a[0] > b[0] for a, b in itertools.pairwise(events)):
            raise invalid(
                "Log events in a single PutLogEvents request must be in chronological order."
            )
        now = self._now()
        self.store.append_log_events(
            [LogEventRecord(group.name, logStreamName, t, m, now) for t, m in events]
        )
        return {"nextSequenceToken": str(now)}

    def get_log_events(
        self,
        logStreamName: str,
        logGroupName: str | None = None,
        logGroupIdentifier: str | None = None,
        startTime: int | None = None,
        endTime: int | None = None,
        nextToken: str | None = None,
        limit: int | None = None,
        startFromHead: bool | None = None,
        unmask: bool | None = None,
    ) -> dict[str, Any]:
        """GetLogEvents of one stream: the newest page first unless ``startFromHead``;
        ``nextForwardToken`` and ``nextBackwardToken`` move on from the page, and come
        back unchanged past the last event (the SDKs' sign to stop)."""
        c = Constraints()
        check_name(c, logStreamName, "logStreamName", STREAM_PATTERN)
        c.integer(startTime, "startTime", 0, 2**63 - 1)
        c.integer(endTime, "endTime", 0, 2**63 - 1)
        c.boolean(startFromHead, "startFromHead")
        c.boolean(unmask, "unmask")
        check_page(c, limit, nextToken, MAX_EVENTS)
        check(c)
        token = parse_stream_token(nextToken)
        group = self._group_of(logGroupName, logGroupIdentifier)
        self._stream(group.name, logStreamName)
        size = limit or MAX_EVENTS
        read = LogQuery(
            group.name, streams=[logStreamName], start=startTime, end=endTime, limit=size
        )
        if token is not None and token[0] == "f":
            events = self.store.log_events(replace(read, after=token[1]))
        elif token is not None:
            events = self.store.log_events(replace(read, before=token[1], reverse=True))[::-1]
        elif startFromHead:
            events = self.store.log_events(read)
        else:
            events = self.store.log_events(replace(read, reverse=True))[::-1]
        if events:
            forward, backward = position(events[-1]), position(events[0])
        elif token is None:
            forward = backward = START
        else:
            # Nothing further this way: the same token again (the SDKs' sign to stop),
            # and one the other way that starts with the position itself.
            (ts, id_) = token[1]
            if token[0] == "f":
                forward, backward = token[1], (ts, id_ + 1)
            else:
                forward, backward = (ts, max(id_ - 1, 0)), token[1]
        return {
            "events": [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
                for e in events
            ],
            "nextForwardToken": stream_token("f", forward),
            "nextBackwardToken": stream_token("b", backward),
        }

    def filter_log_events(
        self,
        logGroupName: str | None = None,
        logGroupIdentifier: str | None = None,
        logStreamNames: list[str] | None = None,
        logStreamNamePrefix: str | None = None,
        startTime: int | None = None,
        endTime: int | None = None,
        filterPattern: str | None = None,
        nextToken: str | None = None,
        limit: int | None = None,
        interleaved: bool | None = None,
        unmask: bool | None = None,
    ) -> dict[str, Any]:
        """FilterLogEvents across a group's streams, in time order (see the module's
        docstring for what a filter pattern matches); ``endTime`` is inclusive."""
        c = Constraints()
        names = sequence(logStreamNames, "logStreamNames")
        if names is not None:
            if not 1 <= len(names) <= 100:
                c.fail(names, "logStreamNames", "Member must have length between 1 and 100")
            for i, name in enumerate(names):
                check_name(c, name, f"logStreamNames.{i + 1}.member", STREAM_PATTERN)
        c.string(logStreamNamePrefix, "logStreamNamePrefix", 1, MAX_NAME)
        c.integer(startTime, "startTime", 0, 2**63 - 1)
        c.integer(endTime, "endTime", 0, 2**63 - 1)
        c.string(filterPattern, "filterPattern", 0, 1024)
        c.boolean(interleaved, "interleaved")
        c.boolean(unmask, "unmask")
        check_page(c, limit, nextToken, MAX_EVENTS)
        check(c)
        if names is not None and logStreamNamePrefix is not None:
            raise invalid(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."
            )
        terms = filter_terms(filterPattern)
        resume = decode_token(nextToken, "t", "i")
        group = self._group_of(logGroupName, logGroupIdentifier)
        size = limit or MAX_EVENTS
        query = LogQuery(
            group.name,
            streams=names,
            stream_prefix=logStreamNamePrefix,
            start=startTime,
            end=None if endTime is None else endTime + 1,
            terms=terms,
            after=None if resume is None else (resume["t"], resume["i"]),
            limit=size + 1,
        )
        found = self.store.log_events(query)
        page = found[:size]
        out: dict[str, Any] = {
            "events": [
                {
                    "logStreamName": e.log_stream_name,
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion_time,
                    "eventId": str(e.id),
                }
                for e in page
            ],
            "searchedLogStreams": [],
        }
        if len(found) > size:
            out["nextToken"] = encode_token({"t": page[-1].timestamp, "i": page[-1].id})
        return out

    def execution_events(
        self, log_group: str, stream: str | None = None, execution_arn: str | None = None
    ) -> Iterator[LogEventRecord]:
        """Every event of a log group in time order (of one stream, of one execution's
        log events), read page by page: what ``stepfn logs`` prints."""
        group = self._group(log_group)
        if stream is not None:
            self._stream(group.name, stream)
        # The messages are compact JSON: the execution's ARN appears exactly like this.
        terms = [f'"execution_arn":"{execution_arn}"'] if execution_arn else []
        query = LogQuery(
            group.name, streams=None if stream is None else [stream], terms=terms, limit=1000
        )
        while True:
            page = self.store.log_events(query)
            yield from page
            if len(page) < 1000:
                return
            query = replace(query, after=position(page[-1]))

    # --- lookups -----------------------------------------------------------------------------

    def _group(self, name: Any) -> LogGroupRecord:
        c = Constraints()
        check_name(c, name, "logGroupName", GROUP_PATTERN)
        check(c)
        group = self.store.get_log_group(name)
        if group is None:
            raise not_found(GROUP_MISSING)
        return group

    @staticmethod
    def _group_name(identifier: str, where: str) -> str:
        """A log group name from a name or an ARN (``logGroupIdentifier``)."""
        if identifier.startswith("arn:"):
            name = log_group_name(identifier)
            if name is None:
                raise invalid(f"Invalid {where}: {identifier}")
            return name
        return identifier

    def _group_of(self, name: Any, identifier: Any) -> LogGroupRecord:
        """The group a request names by ``logGroupName`` or ``logGroupIdentifier``."""
        if name is not None and identifier is not None:
            raise invalid(NAME_AND_ARN)
        if identifier is None:
            return self._group(name)
        c = Constraints()
        if c.string(identifier, "logGroupIdentifier", 1, 2048):
            c.pattern(identifier, "logGroupIdentifier", IDENTIFIER_PATTERN)
        check(c)
        return self._group(self._group_name(identifier, "logGroupIdentifier"))

    def _stream(self, group: str, name: Any) -> LogStreamRecord:
        c = Constraints()
        check_name(c, name, "logStreamName", STREAM_PATTERN)
        check(c)
        for stream in self.store.list_log_streams(group, name):
            if stream.name == name:
                return stream
        raise not_found(STREAM_MISSING)
