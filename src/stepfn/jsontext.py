"""Compact JSON text, as AWS writes payloads: no spaces, non-ASCII kept.

Every payload, history event, run state and stored row is written this way, several
times per state transition, so the encoder is built once: ``json.dumps`` with options
(and even a kept ``JSONEncoder``'s ``encode``) builds a new encoder for every call,
which costs as much as encoding a small payload. This module keeps one of the standard
library's C encoders and calls it directly.

No cycle check: the values come from JSON documents and the interpreter's JSON values,
which cannot hold cycles (a cycle would end in ``RecursionError`` rather than
``ValueError``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _encoder
from typing import Any

__all__ = ["compact", "kept_encoder"]


def _refuse(value: Any) -> Any:
    # What ``JSONEncoder.default`` says of a value JSON has no form for.
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_make = getattr(_encoder, "c_make_encoder", None)


def kept_encoder(
    default: Callable[[Any], Any] = _refuse, *, ensure_ascii: bool = False
) -> Callable[[Any], str]:
    """A compact encoder built once: ``json.dumps(value, separators=(",", ":"),
    default=default, ensure_ascii=ensure_ascii)`` without a new encoder per call."""
    quote = _encoder.encode_basestring_ascii if ensure_ascii else _encoder.encode_basestring
    if _make is None:  # pragma: no cover - an interpreter without the C accelerator
        fallback = json.JSONEncoder(
            separators=(",", ":"),
            ensure_ascii=ensure_ascii,
            default=default,
            check_circular=False,
        )
        return fallback.encode
    # The arguments of ``JSONEncoder.iterencode``'s own call (CPython 3.11 to 3.13):
    # markers (None: no cycle check), default, string quoter, indent, key separator,
    # item separator, sort_keys, skipkeys, allow_nan.
    chunks = _make(None, default, quote, None, ":", ",", False, False, True)

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return quote(value)
        return "".join(chunks(value, 0))

    return encode


# ``value`` as compact JSON text, non-ASCII kept (``json.dumps(value, separators=(",",
# ":"), ensure_ascii=False)``): what payloads, events, run states and rows are written as.
compact = kept_encoder()
