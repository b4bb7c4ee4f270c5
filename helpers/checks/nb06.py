"""Checks for the exercises of notebook 06 (the ELBO, the KL term and β).

Each check runs the student's function on its own cases and, when the answer is wrong, compares it with the
answers the usual mistakes give, so that the verdict can name the mistake.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._core import Candidates, Mistake, Verdict, as_numbers, match_mistake, run_check, same

__all__ = ["check_effective_beta", "check_kl_closed_form", "check_predict_beta_sweep"]


_KL = "KL = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²), with σ² = exp(log σ²) and the sum over the latent dimensions j."


def _kl_terms(mu: torch.Tensor, log_var: torch.Tensor, variance: torch.Tensor | None = None) -> torch.Tensor:
    """The bracket 1 + log σ² − μ² − σ² per dimension (``variance`` replaces σ² to build a mistake)."""
    return 1 + log_var - mu**2 - (log_var.exp() if variance is None else variance)


def check_kl_closed_form(kl_closed_form: Callable[..., Any]) -> Verdict:
    """Check ``kl_closed_form(z_mean, z_log_var)``: KL(N(μ, σ²) ‖ N(0, I)) per sample, summed over dimensions."""

    def body() -> None:
        generator = torch.Generator().manual_seed(6)
        mu = torch.randn(5, 3, generator=generator, dtype=torch.float64)
        log_var = 1.5 * torch.randn(5, 3, generator=generator, dtype=torch.float64)
        result = as_numbers(kl_closed_form(mu.clone(), log_var.clone()), "kl_closed_form")
        terms = _kl_terms(mu, log_var)
        expected = -0.5 * terms.sum(1)
        if same(result, expected):
            return
        candidates: Candidates = [
            ("sign_flipped", 0.5 * terms.sum(1), "the sign is flipped: a KL divergence is never negative.",
             "The formula starts with −½: " + _KL),
            ("missing_half", -terms.sum(1), "the factor ½ is missing: your values are twice the KL.", _KL),
            ("missing_minus_half", terms.sum(1), "the factor −½ in front is missing.", _KL),
            ("per_dimension", -0.5 * terms, "you returned one value per latent dimension (shape N×d).",
             "Sum over the latent dimensions, `dim=1`, to get one KL per sample: " + _KL),
            ("mean_over_dimensions", -0.5 * terms.mean(1), "you averaged over the latent dimensions instead of "
             "summing: the KL of independent dimensions is the sum of their KLs.", "Use `.sum(dim=1)`, not `.mean`."),
            ("averaged_over_batch", -0.5 * terms.sum(1).mean(), "you averaged over the batch: the function should "
             "return one KL per sample (shape N).", "Sum over `dim=1` only; the loss averages over the batch later."),
            ("summed_over_batch", -0.5 * terms.sum(), "you summed over the batch too: the function should return "
             "one KL per sample (shape N).", "Sum over `dim=1` only."),
            ("variance_squared", -0.5 * _kl_terms(mu, log_var, (2 * log_var).exp()).sum(1),
             "you used exp(2·log σ²) = σ⁴ where the formula has σ².", "σ² = exp(log σ²): `z_log_var.exp()`."),
            ("sigma_not_variance", -0.5 * _kl_terms(mu, log_var, (0.5 * log_var).exp()).sum(1),
             "you used σ = exp(½ log σ²) where the formula has σ².", "σ² = exp(log σ²): `z_log_var.exp()`."),
            ("log_var_as_variance", -0.5 * _kl_terms(mu, log_var, log_var).sum(1),
             "you used log σ² itself where the formula has σ².", "σ² = exp(log σ²): `z_log_var.exp()`."),
            ("forgot_mean_term", -0.5 * (terms + mu**2).sum(1), "the term −μ² is missing.", _KL),
            ("forgot_one", -0.5 * (terms - 1).sum(1), "the constant 1 in the bracket is missing.", _KL),
        ]
        match_mistake(result, candidates)
        if np.isnan(result).any():
            raise Mistake("nan", "your result contains NaN.",
                          "log σ² is often negative: never take its log or its square root. " + _KL)
        if result.shape != tuple(expected.shape):
            raise Mistake("wrong_shape", f"for a batch of 5 samples with 3 latent dimensions the result has shape "
                          f"{result.shape}, expected (5,): one KL per sample.", "Sum over `dim=1`.")
        raise Mistake("wrong_value", f"expected {np.round(expected.numpy(), 4)}, got {np.round(result, 4)}.",
                      "Compare your code with the formula, term by term: " + _KL)

    return run_check("kl_closed_form", body)


def check_effective_beta(effective_beta: Callable[..., Any]) -> Verdict:
    """Check ``effective_beta(recon_weight, kl_weight, n_pixels)``: the β of the summed ELBO the loss is proportional to.

    A loss ``recon_weight · mean_pixels(BCE) + kl_weight · KL`` equals ``recon_weight / n_pixels`` times
    ``sum_pixels(BCE) + (kl_weight · n_pixels / recon_weight) · KL``.
    """

    def body() -> None:
        for w, k, n in ((500.0, 1.0, 1024), (1.0, 1.0, 784), (2.0, 3.0, 100), (1.0, 0.25, 1)):
            result = as_numbers(effective_beta(w, k, n), "effective_beta")
            result = result.reshape(()) if result.size == 1 else result
            expected = k * n / w
            if same(result, expected):
                continue
            case = f"recon_weight = {w:g}, kl_weight = {k:g}, n_pixels = {n}"
            match_mistake(result, [
                ("inverted", w / (k * n), f"for {case} you returned the inverse of the effective β.",
                 "Divide the whole loss by the weight of the summed reconstruction, recon_weight / n_pixels: what "
                 "multiplies the KL then is the effective β."),
                ("recon_weight_times", k * n * w, f"for {case} you multiplied by recon_weight instead of dividing.",
                 "Scaling the reconstruction up makes the KL relatively weaker: divide by recon_weight."),
                ("pixels_divided", k / (w * n), f"for {case} you divided by n_pixels instead of multiplying.",
                 "mean over pixels = sum / n_pixels; dividing the loss by recon_weight / n_pixels multiplies the KL's "
                 "weight by n_pixels."),
                ("ignored_pixels", k / w, f"for {case} your answer ignores n_pixels.",
                 "The mean over pixels is the sum divided by n_pixels: that factor moves to the KL's weight."),
                ("ignored_recon_weight", k * n, f"for {case} your answer ignores recon_weight.",
                 "Divide the whole loss by the reconstruction's weight."),
                ("ignored_kl_weight", n / w, f"for {case} your answer ignores kl_weight.",
                 "The KL's own weight multiplies the effective β."),
            ])
            raise Mistake("wrong_value", f"for {case} expected {expected:g}, got {np.round(result, 4)}.",
                          "Write the loss with sum_pixels / n_pixels in place of the mean and divide it by the "
                          "reconstruction's weight.")

    return run_check("effective_beta", body)


_DIRECTIONS = {
    "rises": ("rises", "rise", "up", "increases", "increase", "grows", "grow", "goes up", "higher", "more"),
    "falls": ("falls", "fall", "down", "decreases", "decrease", "drops", "drop", "shrinks", "goes down", "lower",
              "less", "fewer"),
    "stays": ("stays", "stay", "same", "stays the same", "no change", "unchanged", "constant", "flat"),
}
_TERMS = {"reconstruction": "the reconstruction term", "kl": "the KL term", "active_units": "the active units"}
_WHY = ("A larger β makes every nat of information in the code more expensive, so the encoder sends less: the KL "
        "term falls. Knowing less about the image, the decoder reconstructs it worse: the reconstruction term, a "
        "loss, rises.")
_CHANGE = 0.02
"""The relative change between the smallest and the largest β below which a term counts as staying the same."""


def _direction(word: Any, term: str) -> str | None:
    """The student's word for ``term`` as ``"rises"``, ``"falls"`` or ``"stays"`` (None when left out)."""
    if word is None:
        return None
    if isinstance(word, str):
        for direction, words in _DIRECTIONS.items():
            if word.strip().lower().rstrip(".") in words:
                return direction
    raise Mistake("unknown_direction", f"for {_TERMS[term]} you wrote {word!r}, which is not a direction.",
                  "Write `\"rises\"`, `\"falls\"` or `\"stays\"` (or `up`, `down`, `same`).")


def _measured(sweep: dict[float, dict[str, float]], key: str) -> str:
    """How ``key`` moved from the smallest to the largest β of the sweep."""
    first, last = sweep[min(sweep)][key], sweep[max(sweep)][key]
    if key == "active_units":
        return "rises" if last > first else "falls" if last < first else "stays"
    if abs(last - first) <= _CHANGE * abs(first):
        return "stays"
    return "rises" if last > first else "falls"


def _describe(sweep: dict[float, dict[str, float]]) -> str:
    low, high = min(sweep), max(sweep)
    parts = [f"the reconstruction term went from {sweep[low]['recon']:.1f} to {sweep[high]['recon']:.1f} nats",
             f"the KL term from {sweep[low]['kl']:.1f} to {sweep[high]['kl']:.1f}"]
    if "active_units" in sweep[low]:
        parts.append(f"the active units from {sweep[low]['active_units']:g} to {sweep[high]['active_units']:g}")
    return f"as β grew from {low:g} to {high:g}, " + ", ".join(parts)


def check_predict_beta_sweep(predict_beta_sweep: Callable[..., Any], sweep: dict[float, dict[str, float]]) -> Verdict:
    """Check ``predict_beta_sweep()`` against a measured β sweep: ``{β: {"recon", "kl", "active_units"}}``.

    The prediction is a dictionary with the directions of ``"reconstruction"`` and ``"kl"`` (and, optionally,
    ``"active_units"``) as β grows: ``"rises"``, ``"falls"`` or ``"stays"``. A term counts as staying when it moves
    by at most 2 % between the smallest and the largest β.
    """
    if len(sweep) < 2 or any({"recon", "kl"} - row.keys() for row in sweep.values()):
        raise ValueError("sweep must map at least two values of β to {'recon': ..., 'kl': ...}")
    measured = {"reconstruction": _measured(sweep, "recon"), "kl": _measured(sweep, "kl")}
    if all("active_units" in row for row in sweep.values()):
        measured["active_units"] = _measured(sweep, "active_units")
    what = _describe(sweep)

    def body() -> None:
        prediction = predict_beta_sweep()
        if prediction is None:
            raise Mistake("returned_none", "`predict_beta_sweep` returned None.", "Return your dictionary.")
        if not isinstance(prediction, dict):
            raise Mistake("not_a_dict", f"`predict_beta_sweep` returned a {type(prediction).__name__}.",
                          'Return a dictionary such as {"reconstruction": "rises", "kl": "stays"}.')
        missing = [term for term in ("reconstruction", "kl") if term not in prediction]
        if missing:
            raise Mistake("missing_term", f"your prediction has no {' and no '.join(_TERMS[m] for m in missing)}.",
                          'Give both keys, "reconstruction" and "kl".')
        said = {term: _direction(prediction.get(term), term) for term in _TERMS}
        wrong = [term for term in ("reconstruction", "kl") if said[term] != measured[term]]
        if wrong and any(said[term] == "stays" for term in wrong):
            raise Mistake("no_change", f"you predicted that {_TERMS[wrong[0]]} stays the same, but {what}.",
                          "β changes the price of the KL term, so the balance between the two terms moves. " + _WHY)
        if wrong == ["reconstruction", "kl"]:
            raise Mistake("both_reversed", f"both directions are reversed: {what}.",
                          "β weighs the KL term: a larger β pushes the KL down, and the reconstruction pays. " + _WHY)
        if wrong == ["reconstruction"]:
            raise Mistake("reconstruction_wrong", f"the KL term is right, the reconstruction term is not: {what}.",
                          "The reconstruction term is a loss: higher is worse. " + _WHY)
        if wrong == ["kl"]:
            raise Mistake("kl_wrong", f"the reconstruction term is right, the KL term is not: {what}.",
                          "β multiplies the KL term in the loss, so a larger β makes the optimizer cut the KL. " + _WHY)
        if "active_units" in measured and said["active_units"] not in (None, measured["active_units"]):
            raise Mistake("active_units_wrong", f"both terms are right, the active units are not: {what}.",
                          "An active dimension costs KL; when β makes that cost higher than the reconstruction it "
                          "buys, the dimension switches off (posterior collapse).")

    verdict = run_check("predict_beta_sweep", body)
    return dataclasses.replace(verdict, message=f"correct: {what}.") if verdict.ok else verdict
