"""The Map state: its items, its item processor (a machine of its own), and the
Distributed Map's reader, batcher, writer, limits and label.

A Distributed Map runs its item processor as child workflows of the ``ExecutionType``
its ``ProcessorConfig`` names, so the states inside are checked as states of that type
of workflow (an ``EXPRESS`` child refuses ``.sync`` integrations like any Express
machine).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from stepfn.definition.validate_context import (
    DUPLICATE_LABEL,
    EXPRESS,
    INVALID_LABEL,
    JSONATA,
    STANDARD,
    Context,
    StateInfo,
    at,
    exactly_one,
    expect,
    expected_type,
    is_jsonata,
    join,
    language_only,
    not_supported,
    only_one,
)
from stepfn.definition.validate_fields import (
    enum,
    exclusive,
    integer,
    number,
    require_fields,
    usable_fields,
)
from stepfn.definition.validate_payload import (
    check_jsonata_value,
    check_path,
    check_template,
    check_value,
)

_READER_ARN = re.compile(r"^arn:[^:]+:states:::s3:(getObject|listObjectsV2)$")
_WRITER_ARN = re.compile(r"^arn:[^:]+:states:::s3:putObject$")

# What AWS refuses in a Map Label: blanks, brackets, wildcards, punctuation and control
# characters (the set AWS's answers show), and what no AWS name may hold.
_LABEL_FORBIDDEN = frozenset(' ?*<>{}[]:;,\\|^~$#%&`"')
MAX_LABEL = 40


def check_map(ctx: Context, info: StateInfo, fields: set[str]) -> None:
    """Every check of a Map state beyond the fields all states share."""
    body, path = info.body, info.path
    processors = [name for name in ("ItemProcessor", "Iterator") if name in body]
    if len(processors) > 1:
        ctx.report(path, only_one(("ItemProcessor", "Iterator")))
    elif not processors:
        ctx.report(path, exactly_one(("ItemProcessor", "Iterator")))
    for name in processors:
        _check_processor(ctx, body[name], join(path, name))
    if "ItemsPath" in fields:
        check_path(ctx, body["ItemsPath"], join(path, "ItemsPath"), "ItemsPath")
    if "Items" in fields:
        items, here = body["Items"], join(path, "Items")
        if is_jsonata(items) or isinstance(items, list):
            check_jsonata_value(ctx, items, here)
        else:
            ctx.report(here, expected_type("Array"))
    exclusive(ctx, fields, path, ("ItemSelector", "Parameters"))
    if "ItemSelector" in fields:
        check_value(ctx, body["ItemSelector"], join(path, "ItemSelector"), info.jsonata)
    pairs = (
        ("MaxConcurrency", "MaxConcurrencyPath"),
        ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
        ("ToleratedFailureCount", "ToleratedFailureCountPath"),
    )
    for name, path_name in pairs:
        exclusive(ctx, fields, path, (name, path_name))
        if path_name in fields:
            check_path(ctx, body[path_name], join(path, path_name), path_name)
    for name in ("MaxConcurrency", "ToleratedFailureCount"):
        if name in fields:
            integer(ctx, body[name], join(path, name), info.jsonata, 0)
    if "ToleratedFailurePercentage" in fields:
        number(
            ctx,
            body["ToleratedFailurePercentage"],
            join(path, "ToleratedFailurePercentage"),
            info.jsonata,
            0,
            100,
        )
    if "Label" in fields:
        _check_label(ctx, body["Label"], join(path, "Label"))
    if "ItemReader" in fields:
        _check_item_reader(ctx, info, body["ItemReader"], join(path, "ItemReader"))
    if "ItemBatcher" in fields:
        _check_item_batcher(ctx, info, body["ItemBatcher"], join(path, "ItemBatcher"))
    if "ResultWriter" in fields:
        _check_result_writer(ctx, info, body["ResultWriter"], join(path, "ResultWriter"))


def _check_processor(ctx: Context, processor: Any, path: str) -> None:
    """ItemProcessor (or the older Iterator): a machine, with its ProcessorConfig."""
    inner = ctx
    if isinstance(processor, Mapping) and isinstance(processor.get("ProcessorConfig"), Mapping):
        inner = _check_processor_config(
            ctx, processor["ProcessorConfig"], join(path, "ProcessorConfig")
        )
    elif isinstance(processor, Mapping) and "ProcessorConfig" in processor:
        ctx.report(join(path, "ProcessorConfig"), expected_type("Object"))
    ctx.check_machine(
        inner, processor, path, frozenset({"StartAt", "States", "Comment", "ProcessorConfig"})
    )


def _check_processor_config(ctx: Context, config: Mapping[str, Any], path: str) -> Context:
    """Check a ProcessorConfig; the context the processor's states run in."""
    fields = usable_fields(ctx, config, path, ("Mode", "ExecutionType"), ctx.top_language)
    mode = config.get("Mode", "INLINE")
    if "Mode" in fields and not enum(ctx, mode, join(path, "Mode"), ("INLINE", "DISTRIBUTED")):
        return ctx
    if mode == "INLINE":
        if "ExecutionType" in fields:
            ctx.report(path, not_supported("ExecutionType"))
        return ctx
    if ctx.machine_type == EXPRESS:
        ctx.report(
            join(path, "Mode"),
            "The field 'Mode' with value 'DISTRIBUTED' is not supported inside 'EXPRESS' "
            "state machines",
        )
    if not require_fields(ctx, config, path, ["ExecutionType"]):
        return ctx
    execution_type = config["ExecutionType"]
    if not enum(ctx, execution_type, join(path, "ExecutionType"), (STANDARD, EXPRESS)):
        return ctx
    # A Distributed Map runs each batch as a child workflow of this type.
    return replace(ctx, machine_type=execution_type)


def _check_label(ctx: Context, label: Any, path: str) -> None:
    if not expect(ctx, label, "String", path):
        return
    if not label:
        ctx.report(path, "Label cannot be empty", INVALID_LABEL)
    elif len(label) > MAX_LABEL:
        ctx.report(path, f"Label cannot exceed {MAX_LABEL} characters", INVALID_LABEL)
    else:
        bad = next((char for char in label if _label_forbids(char)), None)
        if bad is not None:
            # AWS quotes the character as Python's repr does ('\x00', '\t', ' ').
            ctx.report(path, f"Label contains invalid character: {bad!r}", INVALID_LABEL)
        elif label in ctx.label_paths:
            ctx.report(path, f"Duplicate label name: {label}", DUPLICATE_LABEL)
        else:
            ctx.label_paths[label] = path


def _label_forbids(char: str) -> bool:
    code = ord(char)
    return (
        char in _LABEL_FORBIDDEN
        or code <= 0x1F
        or 0x7F <= code <= 0x9F
        or 0xD800 <= code <= 0xDFFF
        or code in (0xFFFE, 0xFFFF)
    )


def _check_item_reader(ctx: Context, info: StateInfo, reader: Any, path: str) -> None:
    if not expect(ctx, reader, "Object", path):
        return
    allowed = ("Resource", "ReaderConfig", "Parameters", "Arguments")
    fields = usable_fields(ctx, reader, path, allowed, info.language)
    if require_fields(ctx, reader, path, ["Resource"]):
        _check_s3_resource(ctx, reader["Resource"], join(path, "Resource"), _READER_ARN)
    _check_s3_arguments(ctx, reader, fields, path)
    if "ReaderConfig" in fields:
        _check_reader_config(ctx, info, reader["ReaderConfig"], join(path, "ReaderConfig"))


def _check_reader_config(ctx: Context, info: StateInfo, config: Any, path: str) -> None:
    # Only the fields we know are checked: AWS keeps adding reader options.
    if not expect(ctx, config, "Object", path):
        return
    enums = {
        "InputType": ("CSV", "JSON", "JSONL", "MANIFEST", "PARQUET"),
        "CSVHeaderLocation": ("FIRST_ROW", "GIVEN"),
        "CSVDelimiter": ("COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"),
    }
    for name, values in enums.items():
        if name in config:
            enum(ctx, config[name], join(path, name), values)
    if config.get("CSVHeaderLocation") == "GIVEN":
        require_fields(ctx, config, path, ["CSVHeaders"])
    if "CSVHeaders" in config:
        headers, here = config["CSVHeaders"], join(path, "CSVHeaders")
        if expect(ctx, headers, "Array", here):
            for i, header in enumerate(headers):
                expect(ctx, header, "String", at(here, i))
    fields = {name for name in ("MaxItems", "MaxItemsPath") if name in config}
    if info.jsonata and "MaxItemsPath" in fields:
        ctx.report(path, language_only(JSONATA, "MaxItemsPath"))
        fields.discard("MaxItemsPath")
    exclusive(ctx, fields, path, ("MaxItems", "MaxItemsPath"))
    if "MaxItems" in fields:
        integer(ctx, config["MaxItems"], join(path, "MaxItems"), info.jsonata, 0)
    if "MaxItemsPath" in fields:
        check_path(ctx, config["MaxItemsPath"], join(path, "MaxItemsPath"), "MaxItemsPath")


def _check_item_batcher(ctx: Context, info: StateInfo, batcher: Any, path: str) -> None:
    if not expect(ctx, batcher, "Object", path):
        return
    limits = ("MaxItemsPerBatch", "MaxInputBytesPerBatch")
    allowed = (*limits, *(f"{name}Path" for name in limits), "BatchInput")
    fields = usable_fields(ctx, batcher, path, allowed, info.language)
    for name in limits:
        exclusive(ctx, fields, path, (name, f"{name}Path"))
        if name in fields:
            integer(ctx, batcher[name], join(path, name), info.jsonata, 0)
        if f"{name}Path" in fields:
            check_path(ctx, batcher[f"{name}Path"], join(path, f"{name}Path"), f"{name}Path")
    if "BatchInput" in fields:
        check_value(ctx, batcher["BatchInput"], join(path, "BatchInput"), info.jsonata)


def _check_result_writer(ctx: Context, info: StateInfo, writer: Any, path: str) -> None:
    if not expect(ctx, writer, "Object", path):
        return
    allowed = ("Resource", "Parameters", "Arguments", "WriterConfig")
    fields = usable_fields(ctx, writer, path, allowed, info.language)
    if "Resource" in fields:
        _check_s3_resource(ctx, writer["Resource"], join(path, "Resource"), _WRITER_ARN)
    _check_s3_arguments(ctx, writer, fields, path)
    if "WriterConfig" in fields:
        expect(ctx, writer["WriterConfig"], "Object", join(path, "WriterConfig"))


def _check_s3_arguments(ctx: Context, obj: Any, fields: set[str], path: str) -> None:
    """The Parameters (JSONPath) or Arguments (JSONata) of an ItemReader or ResultWriter."""
    if "Parameters" in fields:
        check_template(ctx, obj["Parameters"], join(path, "Parameters"))
    if "Arguments" in fields:
        check_jsonata_value(ctx, obj["Arguments"], join(path, "Arguments"))


def _check_s3_resource(ctx: Context, resource: Any, path: str, pattern: re.Pattern[str]) -> None:
    if (
        expect(ctx, resource, "String", path)
        and "${" not in resource
        and not pattern.match(resource)
    ):
        ctx.report(path, "The field 'Resource' does not match any of the allowed values")
