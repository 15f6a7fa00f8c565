"""Time stepfn on the engine-neutral benchmark workloads and set it beside other engines.

    python bench/run_workloads.py [--workloads DIR] [--runs 3] [--executions 100]

The workloads (``NAME.asl.json`` + ``NAME.input.json``) and the other engines' figures live
outside the repository, in ``$STEPFN_BENCH_DIR`` or ``../shared/bench`` beside it:

(a) ``pass-chain-200``: one execution of 200 chained Pass states -> transitions/s
(b) ``map-1000x2``: one execution, a Map over 1,000 items of 2 states -> transitions/s
(c) ``five-state``: 100 executions one after another -> executions/s, p50/p99 latency;
    also, when ``bench/workloads/five-state-jsonata.asl.json`` is there, the same workload
    written in JSONata (same input, same expected output)

Each figure is the median of ``--runs`` runs, after one untimed warm-up execution. Every
output is checked against what the workload's README says it must be, and a wrong one
stops the benchmark: a fast wrong answer is not a result. Figures are printed, never
asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import stepfn

ENV_VAR = "STEPFN_BENCH_DIR"
DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
# Our own variants of the shared workloads: same input, same expected output.
VARIANTS = Path(__file__).resolve().parent / "workloads"
FIVE_STATE_JSONATA = VARIANTS / "five-state-jsonata.asl.json"

# State transitions per execution, as the workloads' README counts them.
TRANSITIONS = {"pass-chain-200": 200, "map-1000x2": 2001, "five-state": 5}


class WrongOutput(Exception):
    """An execution did not give the output its workload defines."""


@dataclass(frozen=True)
class Workload:
    name: str
    definition: dict[str, Any]
    input: Any
    expected: Any


# What each workload must output, derived from its input as the README describes it.
def _pass_chain_expected(data: Any) -> Any:
    return data


def _map_expected(data: Any) -> Any:
    return {**data, "results": [{"id": item["id"], "seen": True} for item in data["items"]]}


def _five_state_expected(data: Any) -> Any:
    # The three Pass states' Parameters and Result, spelled out from the definition.
    return {
        **data,
        "validation": {
            "orderId": data["orderId"],
            "valid": True,
            "amount": data["payment"]["amount"],
        },
        "paymentResult": {"status": "CHARGED", "transactionId": "TX-1"},
        "shipment": {"carrier": data["shipping"]["carrier"], "to": data["customer"]["address"]},
    }


EXPECTED: dict[str, Callable[[Any], Any]] = {
    "pass-chain-200": _pass_chain_expected,
    "map-1000x2": _map_expected,
    "five-state": _five_state_expected,
}


def load(root: Path, name: str, definition_file: Path | None = None) -> Workload:
    """A workload from ``root``; ``definition_file`` swaps in another definition of it."""
    definition_path = definition_file or root / f"{name}.asl.json"
    definition = json.loads(definition_path.read_text(encoding="utf-8"))
    data = json.loads((root / f"{name}.input.json").read_text(encoding="utf-8"))
    return Workload(name, definition, data, EXPECTED[name](copy.deepcopy(data)))


def execute(workload: Workload) -> float:
    """Run the workload once, check its output, and return the seconds it took."""
    started = time.perf_counter()
    execution = stepfn.run(workload.definition, workload.input)
    elapsed = time.perf_counter() - started
    if execution.status != "SUCCEEDED":
        raise WrongOutput(
            f"{workload.name}: {execution.status}: {execution.error}: {execution.cause}"
        )
    if execution.output != workload.expected:
        got = json.dumps(execution.output)[:300]
        raise WrongOutput(f"{workload.name}: wrong output, got {got}")
    return elapsed


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def throughput(workload: Workload, runs: int) -> float:
    """Median transitions per second over ``runs`` single executions."""
    execute(workload)  # warm-up: imports, caches
    rates = [TRANSITIONS[workload.name] / execute(workload) for _ in range(runs)]
    return statistics.median(rates)


def latency(workload: Workload, runs: int, executions: int) -> tuple[float, float, float]:
    """Median over runs of (executions/s, p50 ms, p99 ms) for back-to-back executions."""
    execute(workload)
    per_run = []
    for _ in range(runs):
        started = time.perf_counter()
        latencies = [execute(workload) for _ in range(executions)]
        total = time.perf_counter() - started
        per_run.append(
            (
                executions / total,
                percentile(latencies, 0.50) * 1000,
                percentile(latencies, 0.99) * 1000,
            )
        )
    rates, p50s, p99s = zip(*per_run, strict=True)
    return statistics.median(rates), statistics.median(p50s), statistics.median(p99s)


def other_engines(readme: Path) -> list[list[str]]:
    """The rows of the README's table of other engines' figures (engine, a, b, c)."""
    if not readme.exists():
        return []
    rows: list[list[str]] = []
    in_table = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells and cells[0] == "engine":
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                break
            if set("".join(cells)) <= set("-: "):
                continue
            rows.append(cells[:4])
    return rows


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--workloads",
        type=Path,
        default=Path(os.environ[ENV_VAR]) if os.environ.get(ENV_VAR) else DEFAULT_DIR,
        help=f"folder of the workloads (default: ${ENV_VAR} or ../shared/bench)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median taken)")
    parser.add_argument(
        "--executions", type=int, default=100, help="executions per run of five-state"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.executions < 1:
        parser.error("--runs and --executions must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    root: Path = args.workloads
    if not root.is_dir():
        print(f"no workloads in {root}: pass --workloads DIR or set {ENV_VAR}", file=sys.stderr)
        return 2
    try:
        chain = throughput(load(root, "pass-chain-200"), args.runs)
        fan = throughput(load(root, "map-1000x2"), args.runs)
        rate, p50, p99 = latency(load(root, "five-state"), args.runs, args.executions)
        jsonata = None
        if FIVE_STATE_JSONATA.exists():
            variant = load(root, "five-state", FIVE_STATE_JSONATA)
            jsonata = latency(variant, args.runs, args.executions)
    except WrongOutput as exc:
        print(f"WRONG OUTPUT: {exc}", file=sys.stderr)
        return 1

    print(
        f"stepfn {stepfn.__version__}, Python {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
        f"median of {args.runs} runs, outputs checked\n"
    )
    ours = [
        f"stepfn {stepfn.__version__} (this machine)",
        f"{chain:,.0f}",
        f"{fan:,.0f}",
        f"{rate:,.1f} (p50 {p50:.2f} ms, p99 {p99:.2f} ms)",
    ]
    header = ["engine", "(a) transitions/s", "(b) transitions/s", "(c) executions/s"]
    print(table([header, ours, *other_engines(root / "README.md")]))
    print("\nOther engines' figures are the README's, measured on the same kind of machine.")
    if jsonata is not None:
        j_rate, j_p50, j_p99 = jsonata
        print(
            f"(c) written in JSONata ({FIVE_STATE_JSONATA.relative_to(VARIANTS.parent.parent)}): "
            f"{j_rate:,.1f} executions/s (p50 {j_p50:.2f} ms, p99 {j_p99:.2f} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
