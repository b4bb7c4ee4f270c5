"""The speed benchmark's comparators, its FLOP count and its output files (no timings are asserted)."""

import json
import platform
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

import references  # noqa: E402
import run  # noqa: E402

from helpers.data import make_ellipses  # noqa: E402
from helpers.losses import model_loss, vae_loss  # noqa: E402
from helpers.train import keep_freed_memory  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """One thread: these small steps run faster so, above all on a machine that other jobs share."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(("model", "latent_dim"), [(references.MLPVAE(), 20), (references.BookConvVAE(2), 2)])
def test_comparators_map_images_to_images_and_codes(model, latent_dim):
    x = torch.rand(5, 1, 28, 28)
    x_hat, z_mean, z_log_var = model(x)
    assert x_hat.shape == x.shape and 0 <= x_hat.min() and x_hat.max() <= 1
    assert z_mean.shape == z_log_var.shape == (5, latent_dim)
    assert model.variational


def test_reference_loss_is_the_helpers_loss_summed_over_the_batch():
    torch.manual_seed(0)
    x = torch.rand(8, 1, 28, 28)
    x_hat, z_mean, z_log_var = references.MLPVAE()(x)
    helpers_total = vae_loss(x, x_hat, z_mean, z_log_var)["total"]
    torch.testing.assert_close(references.reference_loss(x_hat, x, z_mean, z_log_var) / len(x), helpers_total)
    torch.manual_seed(1)
    via_model_loss = model_loss(references.MLPVAE(), x)["total"]
    torch.manual_seed(1)
    model = references.MLPVAE()
    assert run._reference_step_loss(model, x).item() / len(x) == pytest.approx(via_model_loss.item(), rel=1e-5)


def test_pil_dataset_gives_back_the_images_as_tensors():
    images = torch.randint(0, 256, (3, 1, 28, 28)).float() / 255
    dataset = references.PILImages(images, torch.tensor([4, 5, 6]))
    image, label = dataset[1]
    assert len(dataset) == 3 and label == 5
    torch.testing.assert_close(image, images[1])


@pytest.mark.parametrize("make_model", [references.MLPVAE, lambda: references.BookConvVAE(2)])
def test_reference_training_lowers_the_loss(make_model):
    images, _ = make_ellipses(320, seed=1)
    labels = torch.zeros(len(images), dtype=torch.int64)
    train = references.PILImages(images[:256], labels[:256])
    test = references.PILImages(images[256:], labels[256:])
    torch.manual_seed(0)
    model = make_model()
    with torch.no_grad():
        x_hat, z_mean, z_log_var = model(images[256:])
        before = references.reference_loss(x_hat, images[256:], z_mean, z_log_var).item() / 64
    history = references.train_reference(model, train, test, epochs=2, batch_size=16, lr=3e-3)
    assert len(history["test_total"]) == len(history["seconds"]) == 2
    assert history["test_total"][-1] < 0.8 * before


def test_flops_of_a_linear_layer_are_counted_forward_and_backward():
    batch, n_in, n_out = 4, 10, 5
    flops = run.training_step_flops(nn.Linear(n_in, n_out), torch.rand(batch, n_in), lambda m, x: m(x).sum())
    # forward x·Wᵀ and the weight gradient, 2·batch·n_in·n_out each; the input needs no gradient
    assert flops == 2 * (2 * batch * n_in * n_out)


def test_seconds_to_reach_counts_until_the_first_epoch_at_the_target():
    assert run.seconds_to_reach([270.0, 265.0, 260.0], [2.0, 3.0, 4.0], 266.0) == 5.0
    assert run.seconds_to_reach([270.0, 268.0], [2.0, 3.0], 266.0) is None


def _record(samples_per_second: float, test_loss: list[float], seconds: list[float], flop_per_step: float = 0.0):
    return {"samples_per_second": samples_per_second, "test_loss": test_loss, "seconds_per_epoch": seconds,
            "flop_per_step": flop_per_step, "flop_per_second": flop_per_step / run.BATCH_SIZE * samples_per_second,
            "epochs": len(test_loss)}


def test_verdicts_judge_both_targets_and_state_the_matmul_bound():
    runs = {
        "mlp-reference": _record(20_000, [262.0, 255.0, 250.6], [3.0] * 3, 0.42e9),
        "mlp-fit": _record(36_000, [262.0, 255.0, 250.7], [1.6] * 3, 0.42e9),
        "conv-reference": _record(2_000, [272.0, 268.0, 265.9], [30.0] * 3, 11e9),
        "conv-course-z2": _record(17_000, [270.0, 267.0, 265.5], [3.5] * 3, 0.7e9),
    }
    run.compare(runs, peak=210e9)
    mlp, conv = run.verdicts(runs, peak=210e9)
    assert "1.8×" in mlp and "NOT met" in mlp
    # 210 GFLOP/s over 0.42 GFLOP per 128 images: 64,000 images per second, 3.2× the reference's 20,000
    assert "at most 3.2×" in mlp
    # 3 epochs of 3.5 s against 3 of 30 s
    assert "in 10 s" in conv and "in 90 s" in conv and "8.6× faster" in conv and conv.endswith("met.")
    runs["conv-course-z2"] = _record(17_000, [281.0, 276.0, 272.9], [2.5] * 3, 0.4e9)
    run.compare(runs, peak=210e9)
    assert "did not reach" in run.verdicts(runs, peak=210e9)[1]


def test_course_table_states_every_cost_in_reference_epochs_against_its_target():
    def notebook(seconds, slowest):
        return {"status": "ok", "seconds": seconds, "slowest_cells": [{"index": 4, "seconds": slowest,
                                                                       "first_line": "model = train()"}]}

    course = {"full": {"seconds": 90.0, "status": 0, "notebooks": {"01_a": notebook(50.0, 30.0),
                                                                    "02_b": notebook(40.0, 25.0)}},
              "fast": {"seconds": 30.0, "status": 0, "notebooks": {"01_a": notebook(15.0, 5.0),
                                                                    "02_b": notebook(15.0, 5.0)}},
              "test": {"seconds": 100.0, "status": 1}}
    table = run.course_markdown(course, reference_epoch=20.0)
    assert "| 01_a | 15 s = 0.75 RE | 50 s = 2.50 RE | 30 s = 1.50 RE: `model = train()` |" in table
    assert "full mode: 90 s = 4.50 RE; target ≤ 4 RE: NOT met." in table
    assert "fast mode: 30 s = 1.50 RE; target ≤ 1 RE: NOT met." in table
    assert "`make test`): 100 s = 5.00 RE (it FAILED with exit status 1); target ≤ 3 RE: NOT met." in table
    assert "cells above 1 RE in full mode: 01_a cell 4 (1.50 RE); 02_b cell 4 (1.25 RE)" in table
    course["full"]["seconds"] = 70.0
    assert "full mode: 70 s = 3.50 RE; target ≤ 4 RE: met." in run.course_markdown(course, 20.0)
    assert "no cell above 1 RE" in run.course_markdown(course, 40.0)


def test_readme_tables_are_replaced_between_their_markers(tmp_path):
    readme = tmp_path / "README.md"
    start, end = run.MARKERS["course"]
    readme.write_text(f"intro\n{start}\nold\n{end}\noutro\n")
    run.update_readme({"course": "new table\n"}, readme)
    assert readme.read_text() == f"intro\n{start}\nnew table\n{end}\noutro\n"
    with pytest.raises(ValueError, match="markers"):
        run.replace_between("no markers", "results", "x")


def test_quick_run_writes_json_and_markdown(tmp_path, monkeypatch):
    generator = torch.Generator().manual_seed(0)
    x_train, x_test = torch.rand(128, 1, 28, 28, generator=generator), torch.rand(64, 1, 28, 28, generator=generator)
    labels = torch.zeros(192, dtype=torch.int64)
    monkeypatch.setattr(run, "load_data", lambda quick: (x_train, labels[:128], x_test, labels[128:]))
    assert run.main(["--quick", "--epochs", "2", "--out", str(tmp_path)]) == 0

    result = json.loads((tmp_path / "results.json").read_text())
    assert set(result["runs"]) == set(run.RUNS)
    for record in result["runs"].values():
        assert len(record["test_loss"]) == len(record["seconds_per_epoch"]) == len(record["cpu_seconds_per_epoch"]) == 2
        assert record["samples_per_second"] > 0 and 0 < record["fraction_of_matmul_rate"]
    assert result["runs"]["conv-course-z2"]["target_run"] == "conv-reference"
    assert result["machine"]["cores"] >= 1 and result["n_train"] == 128
    markdown = (tmp_path / "results.md").read_text()
    assert all(f"`{name}`" in markdown for name in run.RUNS) and "MLP VAE: fit runs at" in markdown


def test_allocator_setting_applies_on_glibc_unless_glibc_tunables_set_malloc(monkeypatch):
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1")
    assert keep_freed_memory() is False
    monkeypatch.delenv("GLIBC_TUNABLES")
    assert keep_freed_memory() is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")


def test_the_timed_test_command_is_the_makefiles():
    """make bench times what `make test` runs: the same pytest arguments and the same environment."""
    import re
    import shlex

    makefile = (BENCH_DIR.parent / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test: [^\n]*\n\t(.+?)\n\t\t\|\|", makefile, re.MULTILINE | re.DOTALL).group(1)
    command = recipe.replace("\\\n", " ").rstrip(" \\").replace("$(TEST_JOBS)", "auto").replace("$(PYTEST_ARGS)", "")
    words = shlex.split(command)
    settings = dict(word.split("=", 1) for word in words[: words.index("$(BIN)/python")])
    arguments = words[words.index("pytest") + 1:]
    assert settings == run.TEST_ENVIRONMENT
    assert [a for a in run.TEST_COMMAND[2:] if a not in ("-q", "-p", "no:cacheprovider")] == arguments
