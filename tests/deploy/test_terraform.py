"""The real ``terraform`` against a real ``stepfn server``: the seed's configuration, with
only the override file ``stepfn tf-override`` writes, applies, plans no changes and
destroys. Skipped, saying why, without ``terraform`` or a local copy of the aws provider."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stepfn.cli import main

from . import tf_log
from .helpers import SEED, aws, plugin_dir, server_process
from .seed_orders import check_seed_orders

TERRAFORM = shutil.which("terraform")
PLUGINS = plugin_dir()

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(TERRAFORM is None, reason="terraform is not on PATH"),
    pytest.mark.skipif(
        PLUGINS is None,
        reason="no local plugin directory with hashicorp/aws (set TF_PLUGIN_DIR)",
    ),
]

IAM_ONLY = ("aws_iam_role", "aws_iam_policy", "aws_iam_role_policy_attachment")


def terraform(
    folder: Path, *args: str, check: bool = True, log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run terraform in ``folder`` offline (no checkpoint call, no prompts); with ``log``,
    its ``TF_LOG=DEBUG`` log goes there."""
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    env.pop("TF_LOG", None)
    if log is not None:
        env.update(TF_LOG="DEBUG", TF_LOG_PATH=str(log))
    done = subprocess.run(
        [str(TERRAFORM), *args, "-no-color", "-input=false"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"terraform {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done


def prepared(tmp_path: Path, url: str, text: str | None = None) -> Path:
    """The seed's configuration in a fresh folder, with the override, initialised."""
    folder = tmp_path / "seed"
    shutil.copytree(SEED, folder)
    if text is not None:
        (folder / "main.tf").write_text(text)
    result = CliRunner().invoke(main, ["tf-override", str(folder), "--endpoint-url", url])
    assert result.exit_code == 0, result.output
    terraform(folder, "init", f"-plugin-dir={PLUGINS}")
    return folder


def iam_part_of_the_seed() -> str:
    """The seed's provider and IAM resources alone (its top-level blocks, as written)."""
    blocks: list[list[str]] = []
    for line in (SEED / "main.tf").read_text().splitlines():
        if line.startswith(("provider ", "resource ")):
            blocks.append([])
        if blocks and (len(blocks[-1]) == 0 or blocks[-1][-1] != "}"):
            blocks[-1].append(line)
    kept = [
        "\n".join(block)
        for block in blocks
        if block[0].startswith("provider ")
        or any(block[0].startswith(f'resource "{kind}" ') for kind in IAM_ONLY)
    ]
    return "\n\n".join(kept) + "\n"


def test_the_seeds_iam_resources_apply_plan_clean_and_destroy(tmp_path: Path) -> None:
    with server_process(tmp_path / "stepfn.db") as url:
        folder = prepared(tmp_path, url, iam_part_of_the_seed())
        terraform(folder, "apply", "-auto-approve")
        iam = aws("iam", url)
        role = iam.get_role(RoleName="StepFunctionExecutionRole")["Role"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "states.amazonaws.com"
        }
        iam.get_role(RoleName="LambdaExecutionRole")
        attached = iam.list_attached_role_policies(RoleName="StepFunctionExecutionRole")
        arns = [p["PolicyArn"] for p in attached["AttachedPolicies"]]
        assert arns == ["arn:aws:iam::123456789012:policy/StepFunctionPolicy"]

        plan = terraform(folder, "plan", "-detailed-exitcode", check=False)
        assert plan.returncode == 0, plan.stdout + plan.stderr

        terraform(folder, "destroy", "-auto-approve")
        assert iam.list_roles()["Roles"] == []
        assert iam.list_policies(Scope="Local")["Policies"] == []


def check_no_wait_is_ours(timeline: tf_log.Timeline) -> None:
    """The apply cost the provider no retry and no error, each new function was ready at
    the provider's first look, and the only pauses were the provider's fixed waits."""
    assert timeline.requests, "the log shows no request: was TF_LOG honoured?"
    assert timeline.retried() == [], [r.label() for r in timeline.retried()]
    assert timeline.errors() == [], [r.label() for r in timeline.errors()]
    # The waiters read GetFunction: a function that is ready says so at the first look.
    looks = [r for r in timeline.responses if r.fields.get("rpc.method") == "GetFunction"]
    assert looks
    for look in looks:
        config = json.loads(look.body)["Configuration"]
        state = (config["State"], config["LastUpdateStatus"])
        assert state == ("Active", "Successful"), f"{config['FunctionName']}: {state}"
    # waitFunctionCreated sleeps 5 s before its first look at a new function, whatever the
    # answers: those two sleeps are the provider's; any other pause would be ours.
    pauses = timeline.pauses(at_least=2.0)
    assert [p.waiter is not None for p in pauses] == [True, True], [
        f"{p.seconds:.1f} s: {p.cause()}" for p in pauses
    ]


@pytest.mark.acceptance
def test_the_seed_applies_runs_its_orders_plans_clean_and_destroys(
    stepfn_server_factory: Any, tmp_path: Path
) -> None:
    url = stepfn_server_factory().endpoint_url
    folder = prepared(tmp_path, url)
    terraform(folder, "apply", "-auto-approve", log=tmp_path / "apply.log")
    check_no_wait_is_ours(tf_log.read(tmp_path / "apply.log"))

    iam, functions, sfn = aws("iam", url), aws("lambda", url), aws("stepfunctions", url)
    iam.get_role(RoleName="StepFunctionExecutionRole")
    iam.get_role(RoleName="LambdaExecutionRole")
    iam.get_policy(PolicyArn="arn:aws:iam::123456789012:policy/StepFunctionPolicy")
    names = sorted(f["FunctionName"] for f in functions.list_functions()["Functions"])
    assert names == ["LambdaFunction1", "LambdaFunction2"]
    [machine] = sfn.list_state_machines()["stateMachines"]
    assert machine["name"] == "MyStepFunction"
    check_seed_orders(sfn, machine["stateMachineArn"])

    plan = terraform(folder, "plan", "-detailed-exitcode", check=False)
    assert plan.returncode == 0, plan.stdout + plan.stderr

    terraform(folder, "destroy", "-auto-approve")
    assert sfn.list_state_machines()["stateMachines"] == []
    assert functions.list_functions()["Functions"] == []
    assert iam.list_roles()["Roles"] == []
