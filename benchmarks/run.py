"""Speed that a student feels: the course's training against the usual tutorial code, side by side, in one run.

On full Fashion-MNIST (60,000 training / 10,000 test images) it trains

* ``mlp-reference``: pytorch/examples' MLP VAE the tutorial way (DataLoader + ToTensor over PIL images);
* ``mlp-fit``: the same model with ``helpers.train.fit`` (batches sliced from one tensor in memory);
* ``conv-reference``: the book-style convolutional VAE (32/64/128 channels, latent 2) the tutorial way;
* ``conv-course-z2`` and ``conv-course-z16``: ``helpers.models.ConvVAE`` as the notebooks train it (``helpers.zoo``);

For each it records samples per second, seconds per epoch, the test negative ELBO after each epoch (nats per image,
z sampled at evaluation too), the seconds to reach the matching reference's final test loss, and the arithmetic
throughput (FLOPs of one training step counted by ``torch.utils.flop_counter.FlopCounterMode``) as a fraction of
this machine's fp32 matrix-multiply rate, measured in the same run.

Then, in the same run, it times the course itself in a unit measured on this machine: the **reference epoch** (RE),
one epoch of ``conv-reference`` (the book-style conv VAE trained the tutorial way). It runs every notebook in full
mode and in fast mode, each with an empty checkpoint cache (every model trained), and README's test command, and
reports each in RE against the targets (full course ≤ 4 RE, fast ≤ 1 RE, tests ≤ 3 RE, no cell above 1 RE), with
the slowest cells. Results: ``results.json`` and ``results.md`` in the output folder, and the tables in
``benchmarks/README.md`` between its markers (only a full run of everything into the default folder; ``--quick``
and ``--only`` write to ``build/benchmarks``).

    python benchmarks/run.py                     # everything (the course three times over: a long run)
    python benchmarks/run.py --quick             # a smoke test on a small slice, into build/benchmarks
    python benchmarks/run.py --only mlp-fit      # one comparison (repeat --only for more), into build/benchmarks
    python benchmarks/run.py --only conv-reference --only course   # the RE and the course's cost in RE
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path[:0] = [str(REPO_DIR), str(BENCH_DIR)]

from helpers.data import DataError, load_fashion_mnist  # noqa: E402
from helpers.losses import model_loss  # noqa: E402
from helpers.models import ConvVAE  # noqa: E402
from helpers.train import evaluate, fit  # noqa: E402
from helpers.zoo import LEARNING_RATE  # noqa: E402
from references import BookConvVAE, MLPVAE, PILImages, reference_loss, train_reference  # noqa: E402

README = BENCH_DIR / "README.md"
DEFAULT_OUT = BENCH_DIR / "results"
SCRATCH_OUT = REPO_DIR / "build" / "benchmarks"
"""Where partial runs (``--quick``, ``--only``) write, so that they never replace the full results."""
BATCH_SIZE = 128
QUICK_SIZES = (2000, 500)
MATMUL_SIZE = 2048
LOSS_TOLERANCE = 0.5
"""Nats per image within which two test losses count as equal (a loss "reaches" a target up to this): the
difference between two training runs that differ only in their random seed is of this order."""
COURSE_TARGETS_RE = {"full": 4.0, "fast": 1.0, "test": 3.0}
"""Reference epochs the whole course may take in full and in fast mode, and README's test command."""
CELL_TARGET_RE = 1.0
"""Reference epochs a single cell may take in full mode."""
TEST_COMMAND = ["-m", "pytest", "--nbval-lax", "--nbval-current-env", "-n", "auto", "--dist", "loadfile", "-q", "-p",
                "no:cacheprovider", "tests", "notebooks"]
"""README's test command (``make test``) after ``python``, with the Makefile's environment (``TEST_ENVIRONMENT``)."""
TEST_ENVIRONMENT = {"COURSE_FAST": "1", "COURSE_STATIC": "1", "OMP_NUM_THREADS": "1"}
MARKERS = {
    "results": ("<!-- bench:results:start -->", "<!-- bench:results:end -->"),
    "course": ("<!-- bench:course:start -->", "<!-- bench:course:end -->"),
}


@dataclass(frozen=True)
class Run:
    """One comparison: what is trained, how, and which run's final test loss is its target."""

    label: str
    make_model: Callable[[], nn.Module]
    way: str  # "reference" (DataLoader) or "fit"
    lr: float
    target: str  # the run whose final test loss this one should reach
    schedule: str = "constant"  # fit's learning-rate schedule ("one-cycle": the course's recipe, helpers.zoo.recipe)


RUNS: dict[str, Run] = {
    "mlp-reference": Run("MLP VAE 784-400-20, DataLoader + ToTensor (pytorch/examples)", MLPVAE, "reference",
                         1e-3, "mlp-reference"),
    "mlp-fit": Run("the same MLP VAE, helpers.train.fit", MLPVAE, "fit", 1e-3, "mlp-reference"),
    "conv-reference": Run("book-style conv VAE 32/64/128, latent 2, DataLoader + ToTensor",
                          lambda: BookConvVAE(2), "reference", 1e-3, "conv-reference"),
    "conv-course-z2": Run("helpers.models.ConvVAE(2), fit, one-cycle lr 1e-2", lambda: ConvVAE(2), "fit",
                          LEARNING_RATE, "conv-reference", "one-cycle"),
    "conv-course-z16": Run("helpers.models.ConvVAE(16), fit, one-cycle lr 1e-2", lambda: ConvVAE(16), "fit",
                           LEARNING_RATE, "conv-reference", "one-cycle"),
}


# --- measurements --------------------------------------------------------------------------------------------------


def matmul_flops(size: int = MATMUL_SIZE, seconds: float = 2.0) -> float:
    """This machine's fp32 matrix-multiply rate in FLOP/s: ``size``×``size`` products for about ``seconds``."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)  # warm up
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or count < 3:
        torch.mm(a, b)
        count += 1
    return 2 * size**3 * count / elapsed


def training_step_flops(model: nn.Module, batch: Tensor, loss: Callable[[nn.Module, Tensor], Tensor]) -> int:
    """FLOPs of one training step (forward and backward) on ``batch``, counted on a copy of ``model``."""
    model = copy.deepcopy(model).train()
    with FlopCounterMode(display=False) as counter:
        loss(model, batch).backward()
    return counter.get_total_flops()


def _fit_loss(model: nn.Module, x: Tensor) -> Tensor:
    return model_loss(model, x)["total"]


def _reference_step_loss(model: nn.Module, x: Tensor) -> Tensor:
    x_hat, z_mean, z_log_var = model(x)
    return reference_loss(x_hat, x, z_mean, z_log_var)


def seconds_to_reach(test_losses: list[float], seconds: list[float], target: float) -> float | None:
    """Training seconds until the first epoch whose test loss is at most ``target`` (``None``: never reached)."""
    elapsed = 0.0
    for loss, epoch_seconds in zip(test_losses, seconds):
        elapsed += epoch_seconds
        if loss <= target:
            return elapsed
    return None


def train_one(name: str, data: tuple[Tensor, Tensor, Tensor, Tensor], epochs: int, seed: int = 0) -> dict[str, Any]:
    """Train run ``name`` and return its record (per-epoch losses and training seconds, FLOPs, model size)."""
    spec = RUNS[name]
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    model = spec.make_model()
    step_flops = training_step_flops(
        model, x_train[:BATCH_SIZE], _reference_step_loss if spec.way == "reference" else _fit_loss
    )
    n_batches = math.ceil(len(x_train) / BATCH_SIZE)
    if spec.way == "reference":
        with tqdm(total=epochs * n_batches, desc=name, unit="batch", mininterval=0.5) as bar:
            history = train_reference(model, PILImages(x_train, y_train), PILImages(x_test, y_test), epochs=epochs,
                                      batch_size=BATCH_SIZE, lr=spec.lr, seed=seed, on_batch=bar.update)
        train_seconds, cpu_seconds = history["seconds"], history["cpu_seconds"]
        eval_seconds = None
    else:
        cpu_start = time.process_time()
        history = fit(model, x_train, x_test, epochs=epochs, batch_size=BATCH_SIZE, lr=spec.lr, seed=seed,
                      schedule=spec.schedule, desc=name)
        fit_cpu = time.process_time() - cpu_start
        # fit's seconds include one test evaluation per epoch: time one more and subtract it.
        start, cpu_start = time.perf_counter(), time.process_time()
        evaluate(model, x_test)
        eval_seconds, eval_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        train_seconds = [max(s - eval_seconds, 1e-9) for s in history["seconds"]]
        cpu_seconds = [max(fit_cpu / epochs - eval_cpu, 1e-9)] * epochs  # fit reports no CPU time per epoch
    total_seconds = sum(train_seconds)
    samples_per_second = len(x_train) * epochs / total_seconds
    flops_per_second = step_flops / BATCH_SIZE * samples_per_second
    return {
        "label": spec.label,
        "way": spec.way,
        "lr": spec.lr,
        "batch_size": BATCH_SIZE,
        "parameters": sum(p.numel() for p in model.parameters()),
        "epochs": epochs,
        "train_loss": history["train_total"],
        "test_loss": history["test_total"],
        "seconds_per_epoch": train_seconds,
        "cpu_seconds_per_epoch": cpu_seconds,
        "eval_seconds": eval_seconds,
        "samples_per_second_per_epoch": [len(x_train) / s for s in train_seconds],
        "samples_per_second": samples_per_second,
        "flop_per_step": step_flops,
        "flop_per_second": flops_per_second,
    }


def compare(runs: dict[str, dict[str, Any]], peak: float) -> None:
    """Add to each run its target, time to target, speed-up and fraction of the matmul rate (in place)."""
    references_first = sorted(runs, key=lambda name: RUNS[name].target != name)
    for name in references_first:
        record = runs[name]
        record["fraction_of_matmul_rate"] = record["flop_per_second"] / peak
        target = runs.get(RUNS[name].target)
        if target is None:
            continue
        record["target_run"] = RUNS[name].target
        record["target_loss"] = target["test_loss"][-1]
        record["seconds_to_target"] = seconds_to_reach(record["test_loss"], record["seconds_per_epoch"],
                                                        record["target_loss"] + LOSS_TOLERANCE)
        record["speedup_samples_per_second"] = record["samples_per_second"] / target["samples_per_second"]
        reference_time = target.get("seconds_to_target")
        record["time_to_target_ratio"] = (
            reference_time / record["seconds_to_target"] if reference_time and record["seconds_to_target"] else None
        )


def verdicts(runs: Mapping[str, dict[str, Any]], peak: float) -> list[str]:
    """The issue's two targets, each as a sentence with the figures and whether it is met.

    ``peak`` is this run's fp32 matrix-multiply rate (FLOP/s): it bounds what any fp32 MLP step could reach.
    """
    lines = []
    if {"mlp-fit", "mlp-reference"} <= runs.keys():
        fit_run, ref = runs["mlp-fit"], runs["mlp-reference"]
        speedup = fit_run["speedup_samples_per_second"]
        loss_gap = fit_run["test_loss"][-1] - ref["test_loss"][-1]
        met = speedup >= 2.5 and loss_gap <= LOSS_TOLERANCE
        # samples per second if a step did nothing but its matrix products, at this run's matmul rate
        ceiling = peak / (fit_run["flop_per_step"] / BATCH_SIZE) / ref["samples_per_second"]
        lines.append(
            f"MLP VAE: fit runs at {speedup:.1f}× the samples per second of the DataLoader reference "
            f"(target ≥ 2.5×), "
            f"final test loss {fit_run['test_loss'][-1]:.1f} vs {ref['test_loss'][-1]:.1f} nats "
            f"(target: equal within {LOSS_TOLERANCE} or better): {'met' if met else 'NOT met'}. "
            f"Bound: the matrix products alone, at this run's matmul rate, allow at most {ceiling:.1f}× the "
            f"reference, before any element-wise work, loss or optimizer step."
        )
    if {"conv-course-z2", "conv-reference"} <= runs.keys():
        lines.append(_conv_verdict("conv-course-z2", runs["conv-course-z2"], runs["conv-reference"]))
    return lines


def _conv_verdict(name: str, run: dict[str, Any], reference: dict[str, Any]) -> str:
    target = reference["test_loss"][-1]
    if run["seconds_to_target"] is None:
        return (f"`{name}` (latent 2) did not reach the book-style reference's {target:.1f} nats in {run['epochs']} "
                f"epochs (best {min(run['test_loss']):.1f}): target NOT met.")
    ratio = run["time_to_target_ratio"]
    return (f"`{name}` (latent 2) reaches the book-style reference's {target:.1f} nats in "
            f"{run['seconds_to_target']:.0f} s, the reference in {reference['seconds_to_target']:.0f} s: "
            f"{ratio:.1f}× faster (target ≥ 6×): {'met' if ratio >= 6 else 'NOT met'}.")


def allocator_setting() -> str:
    """glibc's malloc tunables of this process, as set in its environment."""
    return os.environ.get("GLIBC_TUNABLES", "") or "not set (glibc defaults)"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what the platform says)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.machine()


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: how busy the machine was (more than the cores: noisy timings)."""
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> dict[str, Any]:
    """Where and how the benchmark ran."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "allocator": allocator_setting(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


# --- the course's cost, in reference epochs --------------------------------------------------------------------------


def run_course(mode: str, build: Path, data_dir: Path) -> dict[str, Any]:
    """Every notebook in ``mode`` ("full" or "fast") with an empty checkpoint cache in ``data_dir``: the wall
    seconds of the whole run, its exit status and ``scripts/run_course.py``'s per-notebook timings."""
    command = [sys.executable, str(REPO_DIR / "scripts" / "run_course.py"), "--build", str(build)]
    command += ["--fast"] if mode == "fast" else []
    environment = {key: value for key, value in os.environ.items() if key != "COURSE_FAST"}
    environment["COURSE_DATA_DIR"] = str(data_dir)
    start = time.perf_counter()
    status = subprocess.run(command, cwd=REPO_DIR, env=environment).returncode
    seconds = time.perf_counter() - start
    timings = build / "timings.json"
    notebooks = json.loads(timings.read_text(encoding="utf-8"))["notebooks"] if timings.exists() else {}
    return {"seconds": seconds, "status": status, "notebooks": notebooks}


def run_tests(data_dir: Path) -> dict[str, Any]:
    """README's test command (``make test``) with an empty checkpoint cache: wall seconds and exit status."""
    environment = dict(os.environ, COURSE_DATA_DIR=str(data_dir), **TEST_ENVIRONMENT)
    start = time.perf_counter()
    status = subprocess.run([sys.executable, *TEST_COMMAND], cwd=REPO_DIR, env=environment).returncode
    return {"seconds": time.perf_counter() - start, "status": status}


def time_course(out: Path) -> dict[str, Any]:
    """The course in full mode, in fast mode and under the tests, each with an empty checkpoint cache."""
    with tempfile.TemporaryDirectory(prefix="course-bench-") as scratch:
        return {"full": run_course("full", out / "course" / "full", Path(scratch) / "full"),
                "fast": run_course("fast", out / "course" / "fast", Path(scratch) / "fast"),
                "test": run_tests(Path(scratch) / "test")}


def course_markdown(course: Mapping[str, Any], reference_epoch: float) -> str:
    """The course's cost in reference epochs: one row per notebook (fast, full, slowest cell), the totals and the
    tests, each against its target."""
    re_ = reference_epoch
    full, fast = course["full"]["notebooks"], course["fast"]["notebooks"]
    lines = [f"One reference epoch (RE) in this run: {re_:.1f} s.", "",
             "| notebook | fast mode | full mode | slowest cell in full mode |", "|---|---:|---:|---|"]
    slow_cells = []
    for name in sorted(set(full) | set(fast)):
        cells = []
        for entry in (fast.get(name), full.get(name)):
            ok = entry and entry.get("status") == "ok"
            cells.append(f"{entry['seconds']:.0f} s = {entry['seconds'] / re_:.2f} RE" + ("" if ok else " (failed)")
                         if entry else "–")
        slowest = ((full.get(name) or {}).get("slowest_cells") or [{}])[0]
        if slowest:
            slow_cells.append((slowest["seconds"], name, slowest))
        slow_text = (f"{slowest['seconds']:.0f} s = {slowest['seconds'] / re_:.2f} RE: `{slowest['first_line'][:45]}`"
                     if slowest else "–")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {slow_text} |")
    totals = {mode: course[mode]["seconds"] for mode in ("fast", "full", "test")}
    lines.append(f"| **whole run** | **{totals['fast']:.0f} s = {totals['fast'] / re_:.2f} RE** | "
                 f"**{totals['full']:.0f} s = {totals['full'] / re_:.2f} RE** | |")
    lines.append("")
    names = {"full": "the whole course in full mode", "fast": "the whole course in fast mode",
             "test": "README's test command (`make test`)"}
    for mode, target in COURSE_TARGETS_RE.items():
        spent = totals[mode] / re_
        failed = "" if course[mode]["status"] == 0 else f" (it FAILED with exit status {course[mode]['status']})"
        verdict = "met" if spent <= target and not failed else "NOT met"
        lines.append(f"- {names[mode]}: {totals[mode]:.0f} s = {spent:.2f} RE{failed}; target ≤ {target:g} RE: "
                     f"{verdict}.")
    over = [(seconds, name, cell) for seconds, name, cell in slow_cells if seconds > CELL_TARGET_RE * re_]
    if over:
        described = "; ".join(f"{name} cell {cell['index']} ({seconds / re_:.2f} RE)" for seconds, name, cell in
                              sorted(over, reverse=True))
        lines.append(f"- cells above {CELL_TARGET_RE:g} RE in full mode: {described}: target NOT met.")
    else:
        lines.append(f"- no cell above {CELL_TARGET_RE:g} RE in full mode: target met.")
    return "\n".join(lines) + "\n"


# --- output --------------------------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "–" if value is None else f"{value:,.{digits}f}{suffix}"


def results_markdown(result: dict[str, Any]) -> str:
    """The results as Markdown: the machine, one row per run, the losses per epoch and the targets."""
    m = result["machine"]
    peak = result["matmul_flop_per_second"]
    lines = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, torch {m['torch']} with {m['threads']} thread(s), "
        f"Python {m['python']}; glibc malloc: `{m['allocator']}`. Load average (1, 5, 15 min) at the start "
        f"{result['load_average']['start']}, at the end {result['load_average']['end']}. "
        f"{result['n_train']:,} training and {result['n_test']:,} test images, batch {BATCH_SIZE}, "
        f"{result['epochs']} epochs. fp32 matmul rate ({result['matmul_size']}×{result['matmul_size']}): "
        f"{peak['start'] / 1e9:.0f} GFLOP/s at the start, {peak['end'] / 1e9:.0f} at the end.",
        "",
        "| run | params | s / epoch (fastest) | CPU s / epoch | samples / s | test loss after each epoch (nats) | "
        "s to target | GFLOP / step | GFLOP/s | of matmul rate |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for name, r in result["runs"].items():
        losses = " → ".join(f"{v:.1f}" for v in r["test_loss"])
        target = r.get("seconds_to_target")
        target_text = "not reached" if "target_loss" in r and target is None else _fmt(target, 0)
        lines.append(
            f"| `{name}`: {r['label']} | {r['parameters']:,} | {_fmt(sum(r['seconds_per_epoch']) / r['epochs'])} "
            f"({_fmt(min(r['seconds_per_epoch']))}) | {_fmt(sum(r['cpu_seconds_per_epoch']) / r['epochs'])} | "
            f"{_fmt(r['samples_per_second'], 0)} | {losses} | {target_text} | {r['flop_per_step'] / 1e9:.3f} | "
            f"{r['flop_per_second'] / 1e9:.1f} | {100 * r['fraction_of_matmul_rate']:.0f} % |"
        )
    lines += ["", "Seconds are training time (the test evaluation after each epoch excluded), the mean over the "
              "epochs and the fastest epoch (far apart: other jobs disturbed the run); CPU seconds count all threads "
              "of this process (with t threads on a quiet machine, about t × the seconds). \"s to target\": "
              f"training seconds until the test loss first reaches the matching reference's final test loss "
              f"(up to {LOSS_TOLERANCE} nats).", ""]
    lines += [f"- {line}" for line in result["verdicts"]]
    return "\n".join(lines) + "\n"


def replace_between(text: str, key: str, body: str) -> str:
    """Replace what lies between the ``key`` markers of ``text`` with ``body``; refuse when they are missing."""
    start, end = MARKERS[key]
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"the markers {start} … {end} are missing")
    return pattern.sub(lambda _: f"{start}\n{body}{end}", text)


def update_readme(tables: Mapping[str, str], readme: Path = README) -> None:
    """Rewrite the README's tables between their markers (``tables``: marker key → Markdown)."""
    text = readme.read_text(encoding="utf-8")
    for key, body in tables.items():
        text = replace_between(text, key, body)
    readme.write_text(text, encoding="utf-8")


def load_data(quick: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Fashion-MNIST as ``(x_train, y_train, x_test, y_test)``; ``quick`` keeps a small slice."""
    n_train, n_test = QUICK_SIZES if quick else (None, None)
    x_train, y_train = load_fashion_mnist("train", n=n_train)
    x_test, y_test = load_fashion_mnist("test", n=n_test)
    return x_train, y_train, x_test, y_test


def main(argv: list[str] | None = None) -> int:
    """Run the selected comparisons and the course, write the results and return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs of every run (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke test on {QUICK_SIZES[0]:,} / {QUICK_SIZES[1]:,} images, without the course")
    parser.add_argument("--only", action="append", choices=[*RUNS, "course"], metavar="NAME",
                        help=f"run only NAME (repeatable): {', '.join(RUNS)}, or 'course' (the course in RE; "
                             f"it adds conv-reference, which defines the RE)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--out", type=Path,
                        help=f"output folder (default {DEFAULT_OUT}; {SCRATCH_OUT} with --quick or --only)")
    args = parser.parse_args(argv)
    complete = not args.quick and not args.only
    out = args.out or (DEFAULT_OUT if complete else SCRATCH_OUT)
    writes_readme = complete and args.out is None
    with_course = not args.quick and (complete or "course" in args.only)
    selected = [name for name in RUNS if complete or args.quick or name in args.only
                or (with_course and name == "conv-reference")]
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        data = load_data(args.quick)
    except DataError as error:
        print(f"benchmark skipped: Fashion-MNIST is not available ({error})\n"
              f"Install it with `sudo apt-get install dataset-fashion-mnist`, or run once online.", file=sys.stderr)
        return 0

    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if busy > (os.cpu_count() or 1) / 2:
        print(f"note: the load average is {busy:.1f} on {os.cpu_count()} cores: other jobs are running and the "
              f"timings will be slower and noisier than on a quiet machine", file=sys.stderr)
    matmul = (1024, 0.3) if args.quick else (MATMUL_SIZE, 2.0)
    print(f"fp32 matmul rate ({matmul[0]}×{matmul[0]}) ...", flush=True)
    load_start = load_average()
    peak_start = matmul_flops(*matmul)
    runs = {name: train_one(name, data, args.epochs) for name in selected}
    peak_end = matmul_flops(*matmul)
    peak = max(peak_start, peak_end)
    compare(runs, peak)
    result = {
        "machine": machine(),
        "load_average": {"start": load_start, "end": None},
        "epochs": args.epochs,
        "quick": args.quick,
        "n_train": len(data[0]),
        "n_test": len(data[2]),
        "matmul_size": matmul[0],
        "matmul_flop_per_second": {"start": peak_start, "end": peak_end},
        "runs": runs,
    }
    result["verdicts"] = verdicts(runs, peak)
    tables = {}
    if with_course:
        reference = runs["conv-reference"]
        result["reference_epoch_seconds"] = sum(reference["seconds_per_epoch"]) / reference["epochs"]
        result["course"] = time_course(out)
        tables["course"] = course_markdown(result["course"], result["reference_epoch_seconds"])
    result["load_average"]["end"] = load_average()
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    tables["results"] = results_markdown(result)
    (out / "results.md").write_text("\n".join(tables.values()), encoding="utf-8")
    if writes_readme:
        update_readme(tables)
    print("\n" + "\n".join(tables.values()))
    print(f"results written to {out}" + (f" and {README}" if writes_readme else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
