"""A folder of ``.tf`` files, read with ``python-hcl2``: variables, locals, data sources and
resources, each with the file and line it was written at (for errors)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from stepfn.deploy.expressions import ExpressionError, evaluate

_OPTIONS = SerializationOptions(with_comments=False, preserve_heredocs=False)


class DeployError(Exception):
    """A configuration stepfn deploy cannot apply; the message names file, line and
    resource."""


@dataclass
class Block:
    """One ``resource`` or ``data`` block."""

    kind: str  # "resource" or "data"
    type: str
    name: str
    body: dict[str, Any]
    file: Path
    line: int

    @property
    def address(self) -> str:
        """``aws_iam_role.r`` (``data.archive_file.f`` for data sources)."""
        prefix = "data." if self.kind == "data" else ""
        return f"{prefix}{self.type}.{self.name}"

    def where(self) -> str:
        """``main.tf:12 (aws_iam_role.r)``."""
        return f"{self.file.name}:{self.line} ({self.address})"


@dataclass
class Config:
    """What the files of one folder declare."""

    folder: Path
    variables: dict[str, Any] = field(default_factory=dict)  # name -> default (raw)
    locals: dict[str, Any] = field(default_factory=dict)  # name -> expression (raw)
    blocks: list[Block] = field(default_factory=list)


def _unquote(key: str) -> str:
    return key.strip('"')


def _line(text: str, kind: str, labels: tuple[str, ...]) -> int:
    pattern = r"^\s*" + kind + "".join(r'\s+"?' + re.escape(label) + '"?' for label in labels)
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(pattern, line):
            return number
    return 1


def load(folder: str | Path) -> Config:
    """Read every ``.tf`` file of ``folder`` (override files for the real terraform
    excepted)."""
    root = Path(folder)
    if not root.is_dir():
        raise DeployError(f"{root}: no such directory")
    files = sorted(p for p in root.glob("*.tf") if not p.name.endswith("_override.tf"))
    if not files:
        raise DeployError(f"{root}: no .tf files")
    config = Config(root)
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            parsed = hcl2.loads(text, serialization_options=_OPTIONS)
        except Exception as exc:  # the parser's own errors carry line and column
            raise DeployError(f"{path.name}: not HCL: {str(exc).splitlines()[0]}") from None
        for variable in parsed.get("variable", []):
            for name, body in variable.items():
                config.variables[_unquote(name)] = body.get("default")
        for block in parsed.get("locals", []):
            config.locals.update({k: v for k, v in block.items() if not k.startswith("__")})
        for kind in ("resource", "data"):
            for entry in parsed.get(kind, []):
                for type_, named in entry.items():
                    for name, body in named.items():
                        labels = (_unquote(type_), _unquote(name))
                        config.blocks.append(
                            Block(kind, *labels, body, path, _line(text, kind, labels))
                        )
    return config


def value(block: Block, attribute: str, resolve: Any, default: Any = None) -> Any:
    """An attribute of a block, evaluated; errors name the block."""
    if attribute not in block.body:
        return default
    try:
        return evaluate(block.body[attribute], resolve, block.file.parent)
    except ExpressionError as exc:
        raise DeployError(f"{block.where()}: {attribute}: {exc}") from None
