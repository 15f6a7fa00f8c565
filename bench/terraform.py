"""Seconds for ``terraform apply`` of the seed's Terraform file against ``stepfn server``,
beside ministack in the same run.

    python bench/terraform.py [--runs 3] [--plugin-dir DIR] [--iam-only] [--ministack PATH]
                              [--breakdown] [--stepfn-deploy] [--no-floor]

Each run starts a ``stepfn server`` on a fresh SQLite file and a free port, copies
``examples/order_processing/seed/`` to a temporary folder, writes the provider override
(``stepfn tf-override``), runs ``terraform init -plugin-dir DIR`` (not timed), then times
``terraform apply -auto-approve`` and ``terraform destroy -auto-approve``. The issue's
target for apply is under 5 s (ministack, measured on this machine: 49 s). ``--iam-only``
applies the seed's IAM resources alone (for a server without the Lambda API). The plugin
directory defaults to ``$TF_PLUGIN_DIR``. Figures are printed, never asserted.

With ``--ministack PATH`` (its ``ministack`` executable, e.g. from a venv of its own:
``pip install ministack``) each run also applies the same folder, with the same override
file, to a fresh ministack on a free port, so both are measured under the same load.

Each run also times the **floor**: three ``terraform validate`` of the same folder, which
start the aws provider (to read its schema, then to validate) and make no API call. An
apply starts it four times before its first request (its schema, validate, plan, apply),
so the floor approximates what Terraform and the provider cost by themselves, whatever
answers; ``--breakdown`` measures that part of each apply exactly.

The seed's two ``aws_lambda_function`` resources add a fixed 10 s that no server can
shorten (terraform-provider-aws 5.100, ``internal/service/lambda/function.go``):
``resourceFunctionCreate`` takes a global lock before it reads a ``filename`` zip and
releases it, deferred, only when the create returns, so the two functions are created one
after the other; and each create's ``waitFunctionCreated`` has ``Delay: 5 * time.Second``,
which the SDK's ``StateChangeConf`` sleeps before its first look at the function, whatever
CreateFunction answered (stepfn answers ``State: Active``, ``LastUpdateStatus:
Successful``, and the first look ends the wait).

``--breakdown`` runs each timed apply with ``TF_LOG=DEBUG`` and prints where its seconds
went (``tests/deploy/tf_log.py`` reads the log): before the first API request (Terraform
and the provider starting), the API phase (requests, retries, error answers, the
milliseconds the provider measured for its requests), each pause of 1 s or more in it with
the record before it, and after the last answer. ``--stepfn-deploy`` also times ``stepfn
deploy`` / ``stepfn destroy`` of the same folder (no Terraform, no provider waits).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.deploy import tf_log  # noqa: E402
from tests.deploy.helpers import SEED, plugin_dir, server_process  # noqa: E402
from tests.deploy.test_terraform import iam_part_of_the_seed  # noqa: E402


def terraform(folder: Path, *args: str, log: Path | None = None) -> float:
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    env.pop("TF_LOG", None)
    if log is not None:
        env.update(TF_LOG="DEBUG", TF_LOG_PATH=str(log))
    began = time.perf_counter()
    done = subprocess.run(
        ["terraform", *args, "-no-color", *(() if args[0] == "validate" else ("-input=false",))],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"terraform {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return took


@contextmanager
def ministack_process(executable: str) -> Iterator[str]:
    """A fresh ministack on a free port; its endpoint URL. Always stopped."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {**os.environ, "GATEWAY_PORT": str(port), "MINISTACK_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [executable], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                sys.exit(f"ministack exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("ministack did not listen within 60 s")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def stepfn_cli(*args: str) -> float:
    """Seconds of one ``stepfn`` command (``deploy`` or ``destroy``), which must succeed."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "stepfn", *args], capture_output=True, text=True)
    took = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"stepfn {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return took


def breakdown(log: Path, took: float) -> str:
    """Where the ``took`` seconds of one apply (or destroy) went, from its ``TF_LOG=DEBUG``
    log."""
    timeline = tf_log.read(log)
    begin, end = timeline.api_phase()
    pauses = timeline.pauses(at_least=1.0)
    starts = sum("plugin started" in r.text for r in timeline.records if r.at <= begin)
    lines = [
        f"  before the first request (Terraform, the provider started {starts} times): "
        f"{begin:.2f} s",
        f"  API phase: {end - begin:.2f} s, {len(timeline.requests)} requests, "
        f"retried: {len(timeline.retried())}, error answers: {len(timeline.errors())} "
        f"({', '.join(r.label() for r in timeline.errors()) or 'none'}), "
        f"{timeline.server_ms()} ms of requests as the provider measured them",
        *(f"    pause {p.seconds:.2f} s after {p.cause()}" for p in pauses),
        f"  after the last answer (state saved, provider stopped): {max(took - end, 0):.2f} s",
    ]
    return "\n".join(lines)


def one_run(
    plugins: Path,
    iam_only: bool,
    target: str,
    ministack: str | None = None,
    show_breakdown: bool = False,
) -> tuple[float, float]:
    """(apply, destroy) seconds of the seed against ``target``; for the floor, (three
    ``terraform validate``, 0); for ``stepfn-deploy``, ``stepfn deploy`` and ``destroy``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "seed"
        shutil.copytree(SEED, folder)
        if iam_only:
            (folder / "main.tf").write_text(iam_part_of_the_seed())
        server = (
            ministack_process(ministack)
            if target == "ministack" and ministack
            else server_process(Path(tmp) / "stepfn.db")
        )
        with server as url:
            if target == "stepfn-deploy":
                deploy = stepfn_cli("deploy", str(folder), "--endpoint-url", url)
                return deploy, stepfn_cli("destroy", str(folder), "--endpoint-url", url)
            subprocess.run(
                [sys.executable, "-m", "stepfn", "tf-override", str(folder), "--endpoint-url", url],
                check=True,
                capture_output=True,
            )
            terraform(folder, "init", f"-plugin-dir={plugins}")
            if target == "floor":
                return sum(terraform(folder, "validate") for _ in range(3)), 0.0
            log = Path(tmp) / "apply.log" if show_breakdown else None
            apply = terraform(folder, "apply", "-auto-approve", log=log)
            if log is not None:
                print(f"{target} apply, {apply:.2f} s:\n{breakdown(log, apply)}", flush=True)
            log = Path(tmp) / "destroy.log" if show_breakdown else None
            destroy = terraform(folder, "destroy", "-auto-approve", log=log)
            if log is not None:
                print(f"{target} destroy, {destroy:.2f} s:\n{breakdown(log, destroy)}", flush=True)
    return apply, destroy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plugin-dir", type=Path, default=None)
    parser.add_argument("--iam-only", action="store_true")
    parser.add_argument("--ministack", default=shutil.which("ministack"), help="its executable")
    parser.add_argument("--no-floor", action="store_true", help="skip the three validates")
    parser.add_argument("--breakdown", action="store_true", help="TF_LOG=DEBUG and say why")
    parser.add_argument("--stepfn-deploy", action="store_true", help="also time stepfn deploy")
    args = parser.parse_args()
    plugins = args.plugin_dir or plugin_dir()
    if shutil.which("terraform") is None or plugins is None:
        sys.exit("needs terraform on PATH and a plugin directory with hashicorp/aws")
    targets = (
        ["stepfn"]
        + (["ministack"] if args.ministack else [])
        + ([] if args.no_floor else ["floor"])
        + (["stepfn-deploy"] if args.stepfn_deploy else [])
    )
    applies: dict[str, list[float]] = {t: [] for t in targets}
    destroys: dict[str, list[float]] = {t: [] for t in targets}
    for run in range(args.runs):
        # Every other run in the other order, so that a load that changes over the run
        # does not always favour the same target.
        for target in targets if run % 2 == 0 else targets[::-1]:
            apply, destroy = one_run(plugins, args.iam_only, target, args.ministack, args.breakdown)
            applies[target].append(apply)
            destroys[target].append(destroy)
            print(
                f"run {run + 1} {target}: apply {apply:.2f} s, destroy {destroy:.2f} s", flush=True
            )
    what = "the seed's IAM resources" if args.iam_only else "the seed's main.tf"
    for target in targets:
        if target == "floor":
            print(
                "floor: three terraform validate (the provider started six times, no API "
                f"call): median {statistics.median(applies[target]):.2f} s"
            )
            continue
        if target == "stepfn-deploy":
            print(
                f"stepfn deploy of {what} (no terraform): median "
                f"{statistics.median(applies[target]):.2f} s; stepfn destroy: median "
                f"{statistics.median(destroys[target]):.2f} s"
            )
            continue
        print(
            f"{target}: terraform apply of {what}: median {statistics.median(applies[target]):.2f}"
            f" s; destroy: median {statistics.median(destroys[target]):.2f} s"
        )
    if "ministack" in targets:
        ratio = statistics.median(applies["ministack"]) / statistics.median(applies["stepfn"])
        print(f"ministack / stepfn apply: {ratio:.2f}x (target for stepfn: < 5 s)")
    if "floor" in targets:
        note = "" if args.iam_only else " (the provider's own waits for two zip functions: 10 s)"
        for target in ("stepfn", "ministack"):
            if target not in targets:
                continue
            # Per run (the same load for both), then the median of those differences.
            over = statistics.median(
                applied - floor
                for applied, floor in zip(applies[target], applies["floor"], strict=True)
            )
            print(f"{target} apply above the floor, median of the runs: {over:.2f} s{note}")


if __name__ == "__main__":
    main()
