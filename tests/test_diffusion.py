"""The arithmetic of diffusion (helpers.diffusion): the schedule, the closed form, the posterior, the reverse step."""

import pytest
import torch

from helpers import diffusion


def test_the_linear_schedule_is_indexed_by_the_step_and_ends_near_the_prior():
    schedule = diffusion.linear_schedule()
    assert schedule.steps == diffusion.STEPS == len(schedule.alpha_bars) - 1
    assert schedule.betas[0] == 0 and schedule.alpha_bars[0] == 1
    assert torch.allclose(schedule.betas[[1, -1]], torch.tensor([diffusion.BETA_FIRST, diffusion.BETA_LAST],
                                                                 dtype=torch.float64))
    assert torch.allclose(schedule.alpha_bars[1:], torch.cumprod(1 - schedule.betas[1:], 0))
    assert schedule.alpha_bars[-1] < 1e-4  # x_T is nearly pure noise


@pytest.mark.parametrize("args", [(0, 0.1, 0.2), (10, 0.0, 0.1), (10, 0.2, 0.1), (10, 0.1, 1.0)])
def test_a_schedule_that_cannot_be_is_refused(args):
    with pytest.raises(ValueError, match="steps"):
        diffusion.linear_schedule(*args)


def test_add_noise_takes_one_step_for_all_rows_or_one_per_row():
    schedule = diffusion.linear_schedule(10, 0.05, 0.2)
    x0, eps = torch.randn(2, 4, 3)
    t = torch.tensor([1, 5, 7, 10])
    per_row = diffusion.add_noise(x0, t, eps, schedule)
    for i, step in enumerate(t.tolist()):
        a = schedule.alpha_bars[step].float()
        assert torch.allclose(per_row[i], a.sqrt() * x0[i] + (1 - a).sqrt() * eps[i])
        assert torch.allclose(diffusion.add_noise(x0, step, eps, schedule)[i], per_row[i])
    assert per_row.dtype == torch.float32
    images = torch.rand(4, 1, 5, 5)
    assert diffusion.add_noise(images, t, torch.zeros_like(images), schedule).shape == images.shape


def test_the_reverse_step_with_the_true_noise_is_the_posterior_mean_and_returns_x0_at_the_last_step():
    schedule = diffusion.linear_schedule(20, 0.01, 0.3)
    x0, eps = torch.randn(2, 6, 3, dtype=torch.float64)
    for t in range(1, 21):
        xt = diffusion.add_noise(x0, t, eps, schedule)
        mean, variance = diffusion.posterior(x0, xt, t, schedule)
        step = diffusion.reverse_step(lambda x, steps: eps, xt, t, torch.zeros_like(xt), schedule)
        assert torch.allclose(step, mean)
        assert variance == pytest.approx(float((1 - schedule.alpha_bars[t - 1]) / (1 - schedule.alpha_bars[t])
                                               * schedule.betas[t]))
    assert torch.allclose(diffusion.reverse_step(lambda x, steps: eps, diffusion.add_noise(x0, 1, eps, schedule), 1,
                                                 torch.ones_like(x0), schedule), x0)  # no noise at t = 1


def test_the_reverse_step_hands_the_denoiser_one_step_per_row_and_adds_sqrt_beta_noise():
    schedule = diffusion.linear_schedule(20, 0.01, 0.3)
    seen = []

    def denoiser(x, steps):
        seen.append(steps)
        return torch.zeros_like(x)

    xt, noise = torch.randn(2, 5, 3)
    result = diffusion.reverse_step(denoiser, xt, 7, noise, schedule)
    assert torch.equal(seen[0], torch.full((5,), 7))
    expected = xt / schedule.alphas[7].sqrt().float() + schedule.betas[7].sqrt().float() * noise
    assert torch.allclose(result, expected)
