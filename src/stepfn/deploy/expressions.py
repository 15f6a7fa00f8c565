"""HCL expressions as ``python-hcl2`` leaves them: source text, evaluated here.

``python-hcl2`` turns a ``.tf`` file into dictionaries and lists, but keeps each
expression as its text: a string literal stays quoted (``"\\"LambdaFunction1\\""``), an
expression is wrapped as ``${...}``. This module evaluates that text: literals, string
templates with ``${...}`` interpolations, lists, objects, references (``var.x``,
``local.y``, ``aws_iam_role.r.arn``, ``data.archive_file.f.output_path``), attribute and
index access, and the functions deploy needs (``jsonencode``, ``jsondecode``, ``file``,
``templatefile``, ``filebase64sha256``, ``filemd5``, ``base64encode``, ``lower``,
``upper``, ``format``, ``join``, ``concat``, ``merge``, ``tostring``, ``tonumber``).
Anything else is an ``ExpressionError`` naming what is not supported.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

Resolver = Callable[[list[str]], Any]

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<ident>[A-Za-z_][\w-]*)"
    r"|(?P<string>\")|(?P<punct>[\[\]{}(),.=:]))"
)


class ExpressionError(Exception):
    """An expression that cannot be evaluated; the message says why."""


class _Parser:
    def __init__(self, text: str, resolve: Resolver, base: Path) -> None:
        self.text = text
        self.pos = 0
        self.resolve = resolve
        self.base = base

    # --- lexing ----------------------------------------------------------------------------

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def _peek(self) -> str:
        self._skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            found = self.text[self.pos : self.pos + 20] or "the end"
            raise ExpressionError(f"expected '{char}' at {found!r} in {self.text[:80]!r}")
        self.pos += 1

    # --- grammar ---------------------------------------------------------------------------

    def expression(self) -> Any:
        value = self._primary()
        while True:
            char = self._peek()
            if char == ".":
                self.pos += 1
                match = _TOKEN.match(self.text, self.pos)
                if match is None or not (match["ident"] or match["number"]):
                    raise ExpressionError(f"expected an attribute name in {self.text[:80]!r}")
                self.pos = match.end()
                value = _index(value, match["ident"] or int(match["number"]))
            elif char == "[":
                self.pos += 1
                key = self.expression()
                self._expect("]")
                value = _index(value, key)
            else:
                return value

    def _items(self, close: str) -> list[Any]:
        """The expressions of a list or a call's arguments, up to ``close`` (taken too)."""
        items = []
        while self._peek() != close:
            items.append(self.expression())
            if self._peek() == ",":
                self.pos += 1
        self.pos += 1
        return items

    def _primary(self) -> Any:
        char = self._peek()
        if char == '"':
            self.pos += 1
            return self._template()
        if char == "[":
            self.pos += 1
            return self._items("]")
        if char == "{":
            return self._object()
        if char == "(":
            self.pos += 1
            value = self.expression()
            self._expect(")")
            return value
        match = _TOKEN.match(self.text, self.pos)
        if match is None or match["punct"] or match["string"]:
            rest = self.text[self.pos : self.pos + 30] or "the end"
            raise ExpressionError(f"unsupported expression at {rest!r}")
        self.pos = match.end()
        if match["number"]:
            number = float(match["number"])
            return int(number) if number.is_integer() and "." not in match["number"] else number
        name = match["ident"]
        if name in ("true", "false"):
            return name == "true"
        if name == "null":
            return None
        if self._peek() == "(":
            self.pos += 1
            return self._call(name, self._items(")"))
        parts = [name]
        while self._peek() == "." and self._reference_continues():
            self.pos += 1
            match = _TOKEN.match(self.text, self.pos)
            assert match is not None
            self.pos = match.end()
            parts.append(match["ident"])
        return self.resolve(parts)

    def _reference_continues(self) -> bool:
        match = _TOKEN.match(self.text, self.pos + 1)
        return match is not None and match["ident"] is not None

    def _object(self) -> dict[str, Any]:
        self._expect("{")
        found: dict[str, Any] = {}
        while self._peek() != "}":
            if self._peek() == '"':
                self.pos += 1
                key = str(self._template())
            else:
                match = _TOKEN.match(self.text, self.pos)
                if match is None or not match["ident"]:
                    raise ExpressionError(f"expected an object key in {self.text[:80]!r}")
                self.pos = match.end()
                key = match["ident"]
            if self._peek() not in ("=", ":"):
                raise ExpressionError(f"expected '=' after the key {key!r}")
            self.pos += 1
            found[key] = self.expression()
            if self._peek() == ",":
                self.pos += 1
        self.pos += 1
        return found

    def _template(self) -> Any:
        """The rest of a quoted template (after its opening quote)."""
        pieces: list[Any] = []
        literal: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise ExpressionError("a string is not closed")
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                break
            if char == "\\":
                escape = text[self.pos + 1 : self.pos + 2]
                if escape == "u":
                    literal.append(chr(int(text[self.pos + 2 : self.pos + 6], 16)))
                    self.pos += 6
                    continue
                literal.append({"n": "\n", "t": "\t", "r": "\r"}.get(escape, escape))
                self.pos += 2
                continue
            if text.startswith("$${", self.pos):
                literal.append("${")
                self.pos += 3
                continue
            if text.startswith("${", self.pos):
                if literal:
                    pieces.append("".join(literal))
                    literal = []
                self.pos += 2
                pieces.append(_Wrapped(self.expression()))
                self._expect("}")
                continue
            literal.append(char)
            self.pos += 1
        if literal:
            pieces.append("".join(literal))
        if len(pieces) == 1 and isinstance(pieces[0], _Wrapped):
            return pieces[0].value  # "${x}" is x itself, of any type
        return "".join(_text(p.value) if isinstance(p, _Wrapped) else p for p in pieces)

    # --- functions -------------------------------------------------------------------------

    def _path(self, value: Any) -> Path:
        path = Path(str(value))
        return path if path.is_absolute() else self.base / path

    def _read(self, value: Any) -> bytes:
        path = self._path(value)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ExpressionError(f"cannot read {path}: {exc.strerror or exc}") from None

    def _call(self, name: str, args: list[Any]) -> Any:
        if name == "jsonencode":
            return json.dumps(args[0], separators=(",", ":"))
        if name == "jsondecode":
            return json.loads(args[0])
        if name == "file":
            return self._read(args[0]).decode("utf-8")
        if name == "filebase64sha256":
            return base64.b64encode(hashlib.sha256(self._read(args[0])).digest()).decode()
        if name == "filemd5":
            return hashlib.md5(self._read(args[0])).hexdigest()
        if name == "base64encode":
            return base64.b64encode(str(args[0]).encode()).decode()
        if name == "templatefile":
            variables = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
            body = self._read(args[0]).decode("utf-8")
            quoted = '"' + body.replace("\\", "\\\\").replace('"', '\\"') + '"'
            return evaluate(quoted, _variables(variables), self.base)
        if name in ("lower", "upper"):
            return getattr(str(args[0]), name)()
        if name == "tostring":
            return _text(args[0])
        if name == "tonumber":
            return float(args[0]) if "." in str(args[0]) else int(args[0])
        if name == "format":
            return str(args[0]).replace("%s", "{}").format(*args[1:])
        if name == "join":
            return str(args[0]).join(_text(a) for a in args[1])
        if name == "concat":
            return [item for arg in args for item in arg]
        if name == "merge":
            merged: dict[str, Any] = {}
            for arg in args:
                merged.update(arg)
            return merged
        raise ExpressionError(f"the function {name}() is not supported by stepfn deploy")


class _Wrapped:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _variables(values: dict[str, Any]) -> Resolver:
    def resolve(parts: list[str]) -> Any:
        if parts[0] not in values:
            raise ExpressionError(f"templatefile: no variable {parts[0]!r}")
        value = values[parts[0]]
        for part in parts[1:]:
            value = _index(value, part)
        return value

    return resolve


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ExpressionError("a list or object cannot be put in a string")
    return str(value)


def _index(value: Any, key: Any) -> Any:
    try:
        return value[key]
    except (KeyError, IndexError, TypeError):
        raise ExpressionError(f"no element {key!r} in {str(value)[:60]}") from None


def evaluate(text: Any, resolve: Resolver, base: Path) -> Any:
    """The value of an expression as ``python-hcl2`` gives it (source text, or a list or
    dictionary holding such texts); file functions read relative to ``base``."""
    if isinstance(text, list):
        return [evaluate(item, resolve, base) for item in text]
    if isinstance(text, dict):
        return {
            key.strip('"'): evaluate(value, resolve, base)
            for key, value in text.items()
            if not key.startswith("__")
        }
    if not isinstance(text, str):
        return text
    parser = _Parser(text, resolve, base)
    if text.startswith("${") and text.endswith("}"):
        parser.pos = 2
        value = parser.expression()
        parser._expect("}")
    else:
        value = parser.expression()
    if parser._peek():
        raise ExpressionError(f"unsupported expression: {text[:80]!r}")
    return value
