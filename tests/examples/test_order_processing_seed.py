"""The seed's own deployment (examples/order_processing/seed): its zips are current, and its
two-function machine, taken from main.tf, runs the seed's example order."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from order_support import APP, node_as_python

import stepfn

SEED = APP / "seed"
MAIN_TF = (SEED / "main.tf").read_text(encoding="utf-8")
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def build_zips() -> Any:
    spec = importlib.util.spec_from_file_location("seed_build_zips", SEED / "build_zips.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_zips_are_a_fresh_build_of_their_sources() -> None:
    builder = build_zips()
    for name in builder.FUNCTIONS:
        assert (SEED / f"{name}.zip").read_bytes() == builder.build(SEED / name), (
            f"{name}.zip is stale: run python examples/order_processing/seed/build_zips.py"
        )
    assert builder.main(["--check"]) == 0


def test_a_build_does_not_depend_on_file_times_or_modes(tmp_path: Path) -> None:
    builder = build_zips()
    source = tmp_path / "fn"
    source.mkdir()
    (source / "index.js").write_text("exports.handler = async () => 1;\n", encoding="utf-8")
    first = builder.build(source)
    (source / "index.js").chmod(0o700)
    os.utime(source / "index.js", (1_900_000_000, 1_900_000_000))
    assert builder.build(source) == first
    (source / "index.js").write_text("exports.handler = async () => 2;\n", encoding="utf-8")
    assert builder.build(source) != first


def test_main_tf_names_the_zips_beside_it() -> None:
    for filename in re.findall(r'filename\s*=\s*"([^"]+)"', MAIN_TF):
        with zipfile.ZipFile(SEED / filename) as archive:
            assert archive.namelist() == ["index.js"]  # handler = "index.handler"


def seed_definition() -> dict[str, Any]:
    """The heredoc definition of main.tf, its ``${...}`` references resolved as deploy would."""
    text = MAIN_TF.split("definition = <<EOF\n", 1)[1].split("\nEOF\n", 1)[0]
    names = dict(
        re.findall(
            r'resource "aws_lambda_function" "(\w+)" \{[^}]*?function_name = "(\w+)"', MAIN_TF
        )
    )

    def arn(match: re.Match[str]) -> str:
        return ARN + names[match.group(1)]

    return json.loads(re.sub(r"\$\{aws_lambda_function\.(\w+)\.arn\}", arn, text))


@pytest.mark.integration
def test_the_seed_machine_runs_the_example_order_from_its_zips(tmp_path: Path) -> None:
    functions = {}
    for number in (1, 2):
        target = tmp_path / f"lambda_function_{number}"
        with zipfile.ZipFile(SEED / f"lambda_function_{number}.zip") as archive:
            archive.extractall(target)
        functions[f"LambdaFunction{number}"] = node_as_python(
            f"lambda_function_{number}", target / "index.js"
        )
    definition = seed_definition()
    assert stepfn.validate(definition) == []
    order = json.loads((APP / "orders" / "example.json").read_text(encoding="utf-8"))
    execution = stepfn.run(definition, order, functions=functions)
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["order_id"] == "12345"
    assert execution.output["status"] == "CONFIRMED"

    bad = dict(order, amount=1)
    failed = stepfn.run(definition, bad, functions=functions)
    assert failed.error == "OrderValidationError"
    assert "does not match the items' total 100.5" in json.loads(failed.cause or "")["errorMessage"]
