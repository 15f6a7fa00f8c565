"""HCL expressions as python-hcl2 leaves them, evaluated (``deploy/expressions.py``)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from stepfn.deploy.expressions import ExpressionError, evaluate

VALUES = {("var", "name"): "orders", ("aws_iam_role", "r", "arn"): "arn:aws:iam::1:role/r"}


def resolve(parts: list[str]) -> Any:
    key = tuple(parts)
    if key not in VALUES:
        raise ExpressionError(f"unknown {'.'.join(parts)}")
    return VALUES[key]


def ev(text: Any, base: Path = Path(".")) -> Any:
    return evaluate(text, resolve, base)


def test_literals_and_templates() -> None:
    assert ev('"plain"') == "plain"
    assert ev('"a-${var.name}-b"') == "a-orders-b"
    assert ev('"$${not} \\"q\\"\\n"') == '${not} "q"\n'
    assert ev("${aws_iam_role.r.arn}") == "arn:aws:iam::1:role/r"
    assert ev(3) == 3 and ev(True) is True
    assert ev(['"x"', "${var.name}"]) == ["x", "orders"]


def test_jsonencode_of_an_object_with_lists() -> None:
    text = '${jsonencode({Version = "2012-10-17", Statement = [{Action = ["a:B"], N = 1}]})}'
    assert json.loads(ev(text)) == {
        "Version": "2012-10-17",
        "Statement": [{"Action": ["a:B"], "N": 1}],
    }


def test_file_functions_read_beside_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "code.zip").write_bytes(b"zip bytes")
    (tmp_path / "t.json").write_text('{"name": "${name}", "n": ${n}}')
    digest = base64.b64encode(hashlib.sha256(b"zip bytes").digest()).decode()
    assert ev('${filebase64sha256("code.zip")}', tmp_path) == digest
    assert ev('${file("t.json")}', tmp_path).startswith('{"name"')
    rendered = ev('${templatefile("t.json", {name = var.name, n = 2})}', tmp_path)
    assert json.loads(rendered) == {"name": "orders", "n": 2}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${var.missing}", "unknown var.missing"),
        ('${nosuch("x")}', "nosuch() is not supported"),
        ('${file("absent.txt")}', "cannot read"),
        ("${var.name + 1}", "expected '}'"),
    ],
)
def test_what_cannot_be_evaluated_says_why(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ev(text, tmp_path)
