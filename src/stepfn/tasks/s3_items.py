"""The S3 side of a distributed Map: its ItemReader's reads and its ResultWriter's writes.

The interpreter asks for both as tasks (``interp/item_reader.py``,
``interp/result_writer.py``) on the resources AWS names for them; this adapter carries
them out with boto3, to the endpoint the routing gives S3 (moto, LocalStack, AWS):

* ``arn:aws:states:::s3:getObject``: one object read as ``ReaderConfig.InputType`` says:
  ``JSON`` (an array), ``JSONL`` (one value a line), ``CSV`` (``CSVHeaderLocation``
  ``FIRST_ROW`` or ``GIVEN`` with ``CSVHeaders``; ``CSVDelimiter``) or ``MANIFEST`` (an
  S3 inventory's ``manifest.json``: its CSV files, gzipped or not, one item a row, named
  by the manifest's ``fileSchema``). JSON Lines, CSV and inventories are read as streams,
  a line at a time, and the read stops at ``MaxItems``;
* ``arn:aws:states:::s3:listObjectsV2``: the objects of a bucket under a prefix, page by
  page, each item ``{"Etag", "Key", "LastModified" (epoch seconds), "Size",
  "StorageClass"}`` as AWS gives them;
* ``arn:aws:states:::s3:putObject``: the map run's results as AWS writes them, under
  ``<Prefix>/<map run id>/``: ``SUCCEEDED_0.json``, ``FAILED_0.json`` and
  ``PENDING_0.json`` (each written when it has entries), then ``manifest.json`` naming
  them. The task's output is the manifest's ``{"Bucket", "Key"}``.

A failed S3 call fails the task with the SDK's cause (``The specified key does not
exist. (Service: S3, Status Code: 404, ...)``); the Map reports it as
``States.ItemReaderFailed`` or ``States.ResultWriterFailed``.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import gzip
import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from stepfn.tasks.aws_calls import AwsCallError, AwsClients
from stepfn.tasks.aws_sdk import sdk_error
from stepfn.tasks.base import TaskOutcome, TaskRequest
from stepfn.tasks.credentials import AssumeRoleRefused
from stepfn.tasks.routing import Routing

RESOURCE = re.compile(r"^arn:aws[a-z-]*:states:::s3:(?P<action>getObject|listObjectsV2|putObject)$")
DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
# What a result file's entry is named by, per child status.
RESULT_FILES = ("SUCCEEDED", "FAILED", "PENDING")


class ReadFailed(Exception):
    """A source that cannot be read as the reader says; the message is the cause."""


class S3Items:
    """Runs the S3 reads and writes of distributed Maps (blocking: boto3 is)."""

    def __init__(self, routing: Routing | None = None, clients: AwsClients | None = None) -> None:
        self.routing = routing if routing is not None else Routing()
        self.clients = clients if clients is not None else AwsClients(self.routing)

    def handles(self, resource: str) -> bool:
        """Whether ``resource`` is an ItemReader's or a ResultWriter's, routed somewhere."""
        return RESOURCE.match(resource) is not None and self.clients.routed("s3", resource)

    def invoke(self, request: TaskRequest) -> TaskOutcome:
        """Read the items, or write the results, and report how it went."""
        match = RESOURCE.match(request.resource)
        assert match is not None
        payload = request.payload if isinstance(request.payload, dict) else {}
        try:
            client = self.clients.for_task("s3", request)
        except AssumeRoleRefused as exc:
            return exc.outcome
        try:
            if match["action"] == "putObject":
                return TaskOutcome.success(self._write(client, payload))
            config = payload.get("ReaderConfig") or {}
            limit = config.get("MaxItems")
            items = (
                self._listed(client, payload.get("Parameters") or {})
                if match["action"] == "listObjectsV2"
                else self._read(client, payload.get("Parameters") or {}, config)
            )
            return TaskOutcome.success(take(items, limit))
        except AwsCallError as exc:
            failed = sdk_error("S3", exc)
            return TaskOutcome.failure(failed.error, failed.cause)
        except ReadFailed as exc:
            return TaskOutcome.failure("States.ItemReaderFailed", str(exc))

    # --- reading ------------------------------------------------------------------------------

    def _get(self, client: Any, bucket: Any, key: Any, version: Any = None) -> Any:
        params = {"Bucket": bucket, "Key": key}
        if version is not None:
            params["VersionId"] = version
        return self.clients.call(client, "GetObject", params).result["Body"]

    def _read(self, client: Any, params: Mapping[str, Any], config: Mapping[str, Any]) -> Any:
        body = self._get(client, params.get("Bucket"), params.get("Key"), params.get("VersionId"))
        kind = str(config.get("InputType", "JSON")).upper()
        if kind == "JSON":
            try:
                items = json.loads(body.read())
            except ValueError as exc:
                raise ReadFailed(f"The object is not valid JSON: {exc}") from None  # ours
            if not isinstance(items, list):
                raise ReadFailed("Attempting to map over non-iterable node.")
            return items
        lines = codecs.iterdecode(body.iter_lines(keepends=True), "utf-8")
        if kind == "JSONL":
            return json_lines(lines)
        if kind == "CSV":
            return csv_items(lines, config)
        if kind == "MANIFEST":
            return self._inventory(client, json.loads(body.read()))
        raise ReadFailed(f"InputType {kind} is not supported")  # ours: PARQUET

    def _inventory(self, client: Any, manifest: Any) -> Iterator[dict[str, Any]]:
        """The rows of an S3 inventory's CSV files, named by its ``fileSchema``."""
        if not isinstance(manifest, dict) or manifest.get("fileFormat", "CSV") != "CSV":
            raise ReadFailed("The manifest is not an S3 inventory manifest of CSV files")
        schema = [name.strip() for name in str(manifest.get("fileSchema", "")).split(",")]
        bucket = str(manifest.get("destinationBucket", "")).rsplit(":", 1)[-1]
        for file in manifest.get("files") or []:
            key = file.get("key") if isinstance(file, dict) else None
            body = self._get(client, bucket, key)
            stream: Any = gzip.GzipFile(fileobj=body) if str(key).endswith(".gz") else body
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
            for row in csv.reader(text):
                yield dict(zip(schema, row, strict=False))

    def _listed(self, client: Any, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        request = {k: v for k, v in params.items() if v is not None}
        while True:
            page = self.clients.call(client, "ListObjectsV2", request).result
            for entry in page.get("Contents") or []:
                modified = entry.get("LastModified")
                yield {
                    "Etag": entry.get("ETag"),
                    "Key": entry.get("Key"),
                    "LastModified": int(modified.timestamp())
                    if isinstance(modified, dt.datetime)
                    else modified,
                    "Size": entry.get("Size"),
                    "StorageClass": entry.get("StorageClass"),
                }
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            request["ContinuationToken"] = token

    # --- writing ------------------------------------------------------------------------------

    def _write(self, client: Any, payload: Mapping[str, Any]) -> dict[str, Any]:
        params = payload.get("Parameters") or {}
        bucket = params.get("Bucket")
        prefix = str(params.get("Prefix") or "").strip("/")
        run_arn = str(payload.get("MapRunArn", ""))
        folder = "/".join(part for part in (prefix, run_arn.rsplit(":", 1)[-1]) if part)
        config = payload.get("WriterConfig") or {}
        jsonl = str(config.get("OutputType", "JSON")).upper() == "JSONL"
        transform = str(config.get("Transformation", "NONE")).upper()
        files: dict[str, list[dict[str, Any]]] = {status: [] for status in RESULT_FILES}
        with ResultFiles(transform, jsonl) as results:
            for status, entry in entries(payload):
                results.add(status, entry)
            for status, body, size in results.bodies():
                key = f"{folder}/{status}_0.json"
                request = {"Bucket": bucket, "Key": key, "Body": body, "ContentLength": size}
                self.clients.call(client, "PutObject", request)
                files[status].append({"Key": key, "Size": size})
        manifest = {
            "DestinationBucket": bucket,
            "MapRunArn": run_arn,
            "ResultFiles": files,
        }
        key = f"{folder}/manifest.json"
        text = json.dumps(manifest, separators=(",", ":")).encode()
        self.clients.call(client, "PutObject", {"Bucket": bucket, "Key": key, "Body": text})
        return {"Bucket": bucket, "Key": key}


def take(items: Iterable[Any], limit: Any) -> list[Any]:
    """The first ``limit`` items (all without one), read no further than that."""
    if isinstance(items, list):
        return items[:limit] if isinstance(limit, int) else items
    out: list[Any] = []
    for item in items:
        if isinstance(limit, int) and len(out) >= limit:
            break
        out.append(item)
    return out


def json_lines(lines: Iterable[str]) -> Iterator[Any]:
    """One JSON value a non-blank line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError:
            raise ReadFailed(f"Line {number} is not valid JSON") from None  # ours


def csv_items(lines: Iterable[str], config: Mapping[str, Any]) -> Iterator[dict[str, str]]:
    """CSV rows as objects named by the header row or ``CSVHeaders``: a short row's
    missing fields are empty strings, a long row's extra ones are dropped (as AWS)."""
    delimiter = DELIMITERS.get(str(config.get("CSVDelimiter", "COMMA")), ",")
    rows = csv.reader(lines, delimiter=delimiter)
    if config.get("CSVHeaderLocation") == "GIVEN":
        headers = [str(h) for h in config.get("CSVHeaders") or []]
    else:
        headers = next(rows, [])
    for row in rows:
        yield {name: row[i] if i < len(row) else "" for i, name in enumerate(headers)}


def entries(payload: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The map run's result entries with the file each goes to, one at a time: from the
    stored children the engine gives (``Children``, perhaps read from its store as this
    goes), or the outcomes of EXPRESS children (``Results``)."""
    for child in payload.get("Children") or ():
        status = child.get("Status")
        if status == "SUCCEEDED":
            yield "SUCCEEDED", child_entry(child)
        elif status in (None, "PENDING", "RUNNING"):
            yield "PENDING", child_entry(child)
        else:
            yield "FAILED", child_entry(child)
    for result in payload.get("Results") or ():
        status = result.get("Status")
        if status in RESULT_FILES:
            yield status, result


class ResultFiles:
    """The result files being written: each a temporary file (in memory while small),
    so that a map run of many children is never all in memory as text."""

    SPOOL_BYTES = 8 * 2**20

    def __init__(self, transform: str, jsonl: bool) -> None:
        self.transform = transform
        self.jsonl = jsonl
        self._files: dict[str, Any] = {}
        self._open = contextlib.ExitStack()

    def __enter__(self) -> ResultFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self._open.close()

    def add(self, status: str, entry: dict[str, Any]) -> None:
        """Append one child's entry to its status's file."""
        file = self._files.get(status)
        if file is None:
            spooled = tempfile.SpooledTemporaryFile(self.SPOOL_BYTES)  # noqa: SIM115
            # Closed with the others when the writing ends (``__exit__``).
            file = self._files[status] = self._open.enter_context(spooled)
            if not self.jsonl:
                file.write(b"[")
        for value in shaped(entry, self.transform):
            if not self.jsonl and file.tell() > 1:
                file.write(b",")
            file.write(json.dumps(value, separators=(",", ":")).encode())
            if self.jsonl:
                file.write(b"\n")

    def bodies(self) -> Iterator[tuple[str, Any, int]]:
        """Each non-empty file, ready to upload: (status, file at its start, size)."""
        for status in RESULT_FILES:
            file = self._files.get(status)
            if file is None:
                continue
            if not self.jsonl:
                file.write(b"]")
            size = file.tell()
            file.seek(0)
            yield status, file, size


def child_entry(child: Mapping[str, Any]) -> dict[str, Any]:
    """A stored child execution as AWS writes it in a result file."""
    status = child.get("Status")
    entry: dict[str, Any] = {
        "ExecutionArn": child.get("ExecutionArn"),
        "Input": child.get("Input"),
        "InputDetails": {"Included": True},
        "Name": child.get("Name"),
    }
    if status == "SUCCEEDED":
        entry["Output"] = child.get("Output")
        entry["OutputDetails"] = {"Included": True}
    entry["RedriveCount"] = child.get("RedriveCount", 0)
    if status == "SUCCEEDED":
        entry["RedriveStatus"] = "NOT_REDRIVABLE"
        entry["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    else:
        entry["RedriveStatus"] = "REDRIVABLE_BY_MAP_RUN"
    entry["StartDate"] = iso_date(child.get("StartDate"))
    entry["StateMachineArn"] = child.get("StateMachineArn")
    entry["Status"] = status
    entry["StopDate"] = iso_date(child.get("StopDate"))
    if status != "SUCCEEDED":
        for name in ("Error", "Cause"):
            if child.get(name) is not None:
                entry[name] = child[name]
    return entry


def iso_date(value: Any) -> Any:
    """Epoch seconds as AWS writes dates in result files."""
    if not isinstance(value, int | float):
        return value
    moment = dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def shaped(entry: dict[str, Any], transform: str) -> list[Any]:
    """What a result file holds for one entry: the entry; with ``COMPACT`` or
    ``FLATTEN`` a successful child's output alone (``FLATTEN`` spreads an array output),
    a failed one's entry kept whole, as AWS documents."""
    if transform not in ("COMPACT", "FLATTEN") or entry.get("Status") != "SUCCEEDED":
        return [entry]
    output = entry.get("Output")
    value = json.loads(output) if isinstance(output, str) else output
    if transform == "FLATTEN" and isinstance(value, list):
        return value
    return [value]
