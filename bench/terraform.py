"""Seconds for ``terraform apply`` of the seed's Terraform file against ``stepfn server``.

    python bench/terraform.py [--runs 3] [--plugin-dir DIR] [--iam-only]

Each run starts a ``stepfn server`` on a fresh SQLite file and a free port, copies
``examples/order_processing/seed/`` to a temporary folder, writes the provider override
(``stepfn tf-override``), runs ``terraform init -plugin-dir DIR`` (not timed), then times
``terraform apply -auto-approve`` and ``terraform destroy -auto-approve``. The issue's
target for apply is under 5 s (ministack, measured on this machine: 49 s). ``--iam-only``
applies the seed's IAM resources alone (for a server without the Lambda API). The plugin
directory defaults to ``$TF_PLUGIN_DIR``. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.deploy.helpers import SEED, plugin_dir, server_process  # noqa: E402
from tests.deploy.test_terraform import iam_part_of_the_seed  # noqa: E402


def terraform(folder: Path, *args: str) -> float:
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    began = time.perf_counter()
    done = subprocess.run(
        ["terraform", *args, "-no-color", "-input=false"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"terraform {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return took


def one_run(plugins: Path, iam_only: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "seed"
        shutil.copytree(SEED, folder)
        if iam_only:
            (folder / "main.tf").write_text(iam_part_of_the_seed())
        with server_process(Path(tmp) / "stepfn.db") as url:
            subprocess.run(
                [sys.executable, "-m", "stepfn", "tf-override", str(folder), "--endpoint-url", url],
                check=True,
                capture_output=True,
            )
            terraform(folder, "init", f"-plugin-dir={plugins}")
            apply = terraform(folder, "apply", "-auto-approve")
            destroy = terraform(folder, "destroy", "-auto-approve")
    return apply, destroy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plugin-dir", type=Path, default=None)
    parser.add_argument("--iam-only", action="store_true")
    args = parser.parse_args()
    plugins = args.plugin_dir or plugin_dir()
    if shutil.which("terraform") is None or plugins is None:
        sys.exit("needs terraform on PATH and a plugin directory with hashicorp/aws")
    applies, destroys = [], []
    for run in range(args.runs):
        apply, destroy = one_run(plugins, args.iam_only)
        applies.append(apply)
        destroys.append(destroy)
        print(f"run {run + 1}: apply {apply:.2f} s, destroy {destroy:.2f} s", flush=True)
    what = "the seed's IAM resources" if args.iam_only else "the seed's main.tf"
    print(
        f"terraform apply of {what}: median {statistics.median(applies):.2f} s "
        f"(target < 5 s; ministack 49 s); destroy: median {statistics.median(destroys):.2f} s"
    )


if __name__ == "__main__":
    main()
