"""``stepfn deploy`` and ``stepfn destroy`` against a real server (``--endpoint-url``, a
``stepfn server`` process) and through ``--db`` (an in-process server)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stepfn.cli import main

from .helpers import EXAMPLE_ORDER, SEED, aws, server_process
from .seed_orders import check_seed_orders, wait_done

pytestmark = pytest.mark.integration

CONFIG = """provider "aws" {
  region = "us-east-1"
}

variable "greeting" {
  default = "hello"
}

locals {
  prefix = "orders"
}

resource "aws_iam_role" "sfn" {
  name = "${local.prefix}-sfn"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Action = "sts:AssumeRole", Effect = "Allow",
                   Principal = { Service = "states.amazonaws.com" } }]
  })
}

resource "aws_iam_policy" "invoke" {
  name   = "${local.prefix}-invoke"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Action = ["lambda:InvokeFunction"], Effect = "Allow", Resource = "*" }]
  })
}

resource "aws_iam_role_policy_attachment" "a" {
  role       = aws_iam_role.sfn.name
  policy_arn = aws_iam_policy.invoke.arn
}

resource "aws_sfn_activity" "approve" {
  name = "${local.prefix}-approve"
}

resource "aws_cloudwatch_log_group" "logs" {
  name              = "/stepfn/${local.prefix}"
  retention_in_days = 7
}

resource "aws_s3_bucket" "data" {
  bucket = "data"
}

resource "aws_sfn_state_machine" "m" {
  name     = "${local.prefix}-machine"
  role_arn = aws_iam_role.sfn.arn
  publish  = true
  definition = <<EOF
{
  "StartAt": "Greet",
  "States": {
    "Greet": {"Type": "Pass", "Result": "${var.greeting}", "Next": "Approve"},
    "Approve": {"Type": "Task", "Resource": "${aws_sfn_activity.approve.id}", "End": true}
  }
}
EOF
}
"""


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def written(tmp_path: Path, text: str = CONFIG) -> Path:
    folder = tmp_path / "infra"
    folder.mkdir()
    (folder / "main.tf").write_text(text)
    return folder


def versions(sfn: Any, arn: str) -> int:
    return len(sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"])


def test_deploy_again_update_then_destroy(tmp_path: Path) -> None:
    folder = written(tmp_path)
    with server_process(tmp_path / "stepfn.db") as url:
        first = cli("deploy", str(folder), "--endpoint-url", url)
        assert first.exit_code == 0, first.output
        assert "skipped main.tf:44 (aws_s3_bucket.data)" in first.output
        sfn, iam, logs = aws("stepfunctions", url), aws("iam", url), aws("logs", url)
        machine = sfn.list_state_machines()["stateMachines"][0]
        arn = machine["stateMachineArn"]
        described = sfn.describe_state_machine(stateMachineArn=arn)
        definition = json.loads(described["definition"])
        assert definition["States"]["Greet"]["Result"] == "hello"
        assert definition["States"]["Approve"]["Resource"].endswith(":activity:orders-approve")
        assert described["roleArn"] == "arn:aws:iam::123456789012:role/orders-sfn"
        attached = iam.list_attached_role_policies(RoleName="orders-sfn")["AttachedPolicies"]
        assert [p["PolicyName"] for p in attached] == ["orders-invoke"]
        groups = logs.describe_log_groups()["logGroups"]
        assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [
            ("/stepfn/orders", 7)
        ]
        assert versions(sfn, arn) == 1

        again = cli("deploy", str(folder), "--endpoint-url", url)
        assert again.exit_code == 0, again.output
        assert "created" not in again.output and "updated" not in again.output
        assert versions(sfn, arn) == 1

        changed = cli("deploy", str(folder), "--endpoint-url", url, "--var", "greeting=hi")
        assert changed.exit_code == 0, changed.output
        assert "updated aws_sfn_state_machine.m" in changed.output
        now = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
        assert now["States"]["Greet"]["Result"] == "hi"
        assert versions(sfn, arn) == 2

        gone = cli("destroy", str(folder), "--endpoint-url", url)
        assert gone.exit_code == 0, gone.output
        assert sfn.list_state_machines()["stateMachines"] == []
        assert sfn.list_activities()["activities"] == []
        assert iam.list_roles()["Roles"] == [] and iam.list_policies()["Policies"] == []
        assert logs.describe_log_groups()["logGroups"] == []
        assert not (folder / ".stepfn-deploy.json").exists()


def test_deploy_through_db_uses_an_in_process_server(tmp_path: Path) -> None:
    folder = written(tmp_path)
    db = tmp_path / "store.db"
    result = cli("deploy", str(folder), "--db", str(db))
    assert result.exit_code == 0, result.output
    with server_process(db) as url:
        machines = aws("stepfunctions", url).list_state_machines()["stateMachines"]
        assert [m["name"] for m in machines] == ["orders-machine"]
    assert cli("destroy", str(folder), "--db", str(db)).exit_code == 0


MACHINE_AT = "main.tf:48 (aws_sfn_state_machine.m)"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("aws_iam_role.sfn.arn", "aws_iam_role.other.arn"),
            f"{MACHINE_AT}: role_arn: reference to an undeclared resource aws_iam_role.other",
        ),
        (("var.greeting}", "var.nothing}"), "var.nothing has no value"),
        (('"Type": "Pass", "Result"', '"Type": "Pas", "Result"'), f"{MACHINE_AT}: Invalid"),
        # An unresolved ${...} left in a Resource: refused at create time, as AWS refuses it.
        (
            ('"${aws_sfn_activity.approve.id}"', '"$${aws_sfn_activity.approve.id}"'),
            f"{MACHINE_AT}: definition: /States/Approve/Resource: "
            "'${aws_sfn_activity.approve.id}' is not an ARN",
        ),
    ],
)
def test_errors_name_the_file_line_and_resource(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    assert change[0] in CONFIG
    folder = written(tmp_path, CONFIG.replace(*change))
    result = cli("deploy", str(folder), "--db", str(tmp_path / "s.db"))
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert "Traceback" not in result.output


def test_a_missing_zip_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "seed"
    shutil.copytree(SEED, folder)
    (folder / "lambda_function_2.zip").unlink()
    result = cli("deploy", str(folder), "--db", str(tmp_path / "s.db"))
    assert result.exit_code == 1
    assert "main.tf:60 (aws_lambda_function.lambda_function_2)" in result.output, result.output


@pytest.mark.acceptance
def test_the_seed_deploys_runs_its_orders_and_is_enforced_by_its_policy(
    stepfn_server_factory: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "seed"
    shutil.copytree(SEED, folder)
    url = stepfn_server_factory().endpoint_url
    result = cli("deploy", str(folder), "--endpoint-url", url)
    assert result.exit_code == 0, result.output
    sfn, iam = aws("stepfunctions", url), aws("iam", url)
    [machine] = sfn.list_state_machines()["stateMachines"]
    described = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    assert described["roleArn"] == "arn:aws:iam::123456789012:role/StepFunctionExecutionRole"
    check_seed_orders(sfn, machine["stateMachineArn"])

    # The role's policy is what lets the machine invoke its functions: without it, the
    # first task is refused as AWS refuses it.
    policy = "arn:aws:iam::123456789012:policy/StepFunctionPolicy"
    iam.detach_role_policy(RoleName="StepFunctionExecutionRole", PolicyArn=policy)
    started = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"], input=EXAMPLE_ORDER.read_text()
    )
    denied = wait_done(sfn, started["executionArn"])
    assert denied["error"] == "Lambda.AWSLambdaException"
    assert "is not authorized to perform: lambda:InvokeFunction" in denied["cause"]
    iam.attach_role_policy(RoleName="StepFunctionExecutionRole", PolicyArn=policy)

    assert cli("destroy", str(folder), "--endpoint-url", url).exit_code == 0
    assert aws("lambda", url).list_functions()["Functions"] == []
    assert sfn.list_state_machines()["stateMachines"] == []
