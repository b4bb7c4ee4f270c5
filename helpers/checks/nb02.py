"""Checks for the exercises of notebook 02 (a convolutional autoencoder on MNIST).

The size and parameter checks run the student's function on several layer settings and compare the whole list of
answers with the right one and with the lists the usual mistakes give, so that the verdict can name the mistake.
The decoder check builds the student's module, reads the shape and range of what it outputs, and trains it behind an
encoder for a few steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._core import Mistake, Verdict, as_number, run_check

__all__ = ["check_conv_output_size", "check_conv_transpose_output_size", "check_count_parameters",
           "check_face_decoder"]

Candidate = tuple[str, Callable[..., float], str, str]
"""(mistake id, the formula that mistake computes, message, hint)."""


def _answers(function: Callable[..., Any], cases: Sequence[tuple[int, ...]], name: str) -> list[float]:
    """The student's answer for every case, as numbers."""
    return [as_number(function(*case), name, "Return one whole number: the size of the output along one side.")
            for case in cases]


def _judge(function: Callable[..., Any], name: str, args: str, cases: Sequence[tuple[int, ...]],
           right: Callable[..., float], candidates: Sequence[Candidate]) -> None:
    """Pass if every answer is right; else name the mistake whose answers match them all, or the first wrong case."""
    answers = _answers(function, cases, name)
    expected = [right(*case) for case in cases]
    if answers == expected:
        return
    for mistake_id, formula, message, hint in candidates:
        if answers == [formula(*case) for case in cases]:
            raise Mistake(mistake_id, message, hint)
    answer, want, case = next((a, e, c) for a, e, c in zip(answers, expected, cases) if a != e)
    raise Mistake("wrong_value", f"for {', '.join(f'{k} = {v}' for k, v in zip(args.split(), case))} "
                  f"the output size is {want:g}, your function gave {answer:g}.",
                  "Compare your code with the formula above it, term by term.")


CONV_CASES = [(28, 3, 2, 1), (14, 3, 2, 1), (7, 3, 1, 0), (32, 5, 2, 2), (10, 4, 3, 0), (9, 3, 2, 0)]


def check_conv_output_size(conv_output_size: Callable[..., Any]) -> Verdict:
    """Check ``conv_output_size(n, kernel, stride, padding) = ⌊(n + 2p − k) / s⌋ + 1``."""

    def body() -> None:
        _judge(conv_output_size, "conv_output_size", "n kernel stride padding", CONV_CASES,
               lambda n, k, s, p: (n + 2 * p - k) // s + 1, [
                   ("not_floored", lambda n, k, s, p: (n + 2 * p - k) / s + 1,
                    "your sizes can be fractions: the division is not floored.",
                    "A layer cannot output half a pixel: use floor division, `(n + 2 * padding - kernel) // stride`."),
                   ("rounded", lambda n, k, s, p: round((n + 2 * p - k) / s) + 1,
                    "you rounded the division; the formula floors it.",
                    "The last window must fit entirely: use `//`, which rounds down."),
                   ("rounded_up", lambda n, k, s, p: math.ceil((n + 2 * p - k) / s) + 1,
                    "you rounded the division up; the formula floors it.",
                    "A window that would stick out over the border is dropped: use `//`, which rounds down."),
                   ("forgot_two_p", lambda n, k, s, p: (n + p - k) // s + 1,
                    "you added the padding once; it is added on both sides.",
                    "Padding p adds p pixels at each end of a row: the padded length is n + 2·p."),
                   ("forgot_padding", lambda n, k, s, p: (n - k) // s + 1,
                    "your formula ignores the padding.", "The padded input is n + 2·p pixels long."),
                   ("forgot_plus_one", lambda n, k, s, p: (n + 2 * p - k) // s,
                    "your sizes are one too small: the + 1 is missing.",
                    "(n + 2p − k) / s counts the *steps* of the window; add 1 for its first position."),
               ])

    return run_check("conv_output_size", body)


TRANSPOSE_CASES = [(7, 3, 2, 1, 1), (14, 3, 2, 1, 1), (5, 4, 2, 1, 0), (3, 3, 1, 0, 0), (4, 5, 3, 2, 2)]


def check_conv_transpose_output_size(conv_transpose_output_size: Callable[..., Any]) -> Verdict:
    """Check ``conv_transpose_output_size(n, kernel, stride, padding, output_padding) = (n − 1)s − 2p + k + op``."""

    def body() -> None:
        _judge(conv_transpose_output_size, "conv_transpose_output_size", "n kernel stride padding output_padding",
               TRANSPOSE_CASES, lambda n, k, s, p, op: (n - 1) * s - 2 * p + k + op, [
                   ("forgot_output_padding", lambda n, k, s, p, op: (n - 1) * s - 2 * p + k,
                    "the output padding is missing: your 7×7 map grows to 13×13, not 14×14.",
                    "Add `output_padding` at the end: it adds the pixels a stride-2 convolution floored away."),
                   ("used_n", lambda n, k, s, p, op: n * s - 2 * p + k + op,
                    "you multiplied n by the stride; it is (n − 1) · s.",
                    "n input pixels have n − 1 gaps between them, and each gap becomes s pixels wide."),
                   ("forgot_two_p", lambda n, k, s, p, op: (n - 1) * s - p + k + op,
                    "you subtracted the padding once; it is cropped from both sides.",
                    "In a transposed convolution, padding p removes p pixels at each end: subtract 2·p."),
                   ("padding_sign", lambda n, k, s, p, op: (n - 1) * s + 2 * p + k + op,
                    "you added the padding; a transposed convolution removes it.",
                    "Padding p crops p pixels from each end of the output: − 2·p."),
                   ("conv_formula", lambda n, k, s, p, op: (n + 2 * p - k) // s + 1,
                    "that is the formula of the ordinary convolution, which shrinks the image.",
                    "Invert it: solve o = ⌊(n + 2p − k)/s⌋ + 1 for n; that gives (o − 1)·s − 2p + k, "
                    "plus the output padding."),
                   ("stride_only", lambda n, k, s, p, op: n * s,
                    "you multiplied by the stride only.",
                    "That fits the decoder's layers by chance, not other settings: use (n − 1)s − 2p + k + op."),
               ])

    return run_check("conv_transpose_output_size", body)


PARAMETER_CASES = [(1, 16, 3), (16, 32, 3), (3, 8, 5), (32, 16, 3)]


def check_count_parameters(count_parameters: Callable[..., Any]) -> Verdict:
    """Check ``count_parameters(in_channels, out_channels, kernel) = out · (in · k² + 1)`` (weights and biases)."""

    def body() -> None:
        _judge(count_parameters, "count_parameters", "in_channels out_channels kernel", PARAMETER_CASES,
               lambda c_in, c_out, k: c_out * (c_in * k * k + 1), [
                   ("forgot_bias", lambda c_in, c_out, k: c_out * c_in * k * k,
                    "you counted the weights but not the biases.",
                    "Every output channel has one bias as well: add out_channels."),
                   ("bias_per_input", lambda c_in, c_out, k: c_out * c_in * (k * k + 1),
                    "you gave every (input, output) pair of channels its own bias.",
                    "There is one bias per output channel, added after summing over all input channels."),
                   ("forgot_in_channels", lambda c_in, c_out, k: c_out * (k * k + 1),
                    "your count does not grow with the number of input channels.",
                    "Each filter spans all input channels: it has in_channels × k × k weights."),
                   ("forgot_out_channels", lambda c_in, c_out, k: c_in * k * k + 1,
                    "you counted the parameters of one filter only.",
                    "The layer has one filter (and one bias) per output channel: multiply by out_channels."),
                   ("kernel_not_squared", lambda c_in, c_out, k: c_out * (c_in * k + 1),
                    "a 3×3 kernel has 9 weights per channel, not 3.", "The kernel is k × k: use k²."),
               ])

    return run_check("count_parameters", body)


FACE_SHAPE = (3, 32, 32)
_DECODER_SHAPES = {  # (C, H, W) a mistake gives → (mistake id, message, hint)
    (1, 32, 32): ("one_channel", "your decoder outputs one channel; colour images have three (red, green, blue).",
                  "The last transposed convolution needs 3 output channels."),
    (3, 28, 28): ("mnist_size", "your decoder outputs 28×28 images: it starts from MNIST's 7×7 feature maps.",
                  "Two doublings lead to 32 pixels from 32 / 4 = 8: unflatten to C×8×8."),
    (3, 29, 29): ("forgot_output_padding", "your decoder outputs 29×29 images: the output padding is missing.",
                  "With kernel 3, stride 2 and padding 1, 8 → 15 → 29; `output_padding=1` makes it 8 → 16 → 32."),
    (3, 16, 16): ("one_doubling", "your decoder outputs 16×16 images: it doubles the size only once.",
                  "From 8×8 to 32×32 takes two stride-2 transposed convolutions (or start from 16×16)."),
}


def check_face_decoder(make_face_decoder: Callable[[int], Any]) -> Verdict:
    """Check ``make_face_decoder(latent_dim)``: a module from codes ``N×d`` to images ``N×3×32×32`` in [0, 1] that
    learns: trained behind a small encoder on 256 faces for 40 steps, the loss must fall by a tenth."""

    def body() -> None:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            decoder = make_face_decoder(8)
            if decoder is None:
                raise Mistake("returned_none", "`make_face_decoder` returned None.",
                              "Did you forget the `return` statement?")
            if not isinstance(decoder, nn.Module):
                raise Mistake("not_a_module", f"`make_face_decoder` returned a {type(decoder).__name__}, not a "
                              "module.", "Return an `nn.Module`, for example an `nn.Sequential(...)` of layers.")
            images = _decode(decoder, torch.randn(4, 8))
            _check_images(images)
            _check_learning(decoder)

    return run_check("make_face_decoder", body)


def _decode(decoder: nn.Module, z: torch.Tensor) -> torch.Tensor:
    try:
        return decoder(z)
    except RuntimeError as error:
        if "shapes cannot be multiplied" in str(error) or "size mismatch" in str(error):
            raise Mistake("wrong_input_size", f"your decoder does not accept codes of {z.shape[1]} numbers "
                          f"({str(error)[:80]}).", "Its first layer must read `latent_dim` numbers: "
                          "`nn.Linear(latent_dim, ...)`, and each layer must take what the one before gives.") from None
        raise


def _check_images(images: Any) -> None:
    if not isinstance(images, torch.Tensor):
        raise Mistake("not_images", f"your decoder returned a {type(images).__name__}, not a tensor of images.",
                      "Its forward pass must return one tensor N×3×32×32.")
    shape = tuple(images.shape[1:])
    if shape != FACE_SHAPE:
        if shape in _DECODER_SHAPES:
            raise Mistake(*_DECODER_SHAPES[shape])
        raise Mistake("wrong_shape", f"for 4 codes your decoder outputs shape {tuple(images.shape)}, not "
                      f"(4, 3, 32, 32).", "Follow the shapes layer by layer with the two formulas of section 2.")
    if images.min() < 0 or images.max() > 1:
        raise Mistake("no_sigmoid", f"your decoder outputs values from {images.min():.2f} to {images.max():.2f}, "
                      "outside [0, 1].", "End with `nn.Sigmoid()`, so that every value is a valid pixel.")


def _check_learning(decoder: nn.Module, steps: int = 40) -> None:
    from ..faces import make_faces
    from ..models import Encoder

    faces, _ = make_faces(256, seed=11)
    encoder = nn.Sequential(Encoder(3, 32, channels=(16, 32), hidden=64), nn.Linear(64, 8))
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=3e-3)
    losses = []
    for step in range(steps):
        x = faces[(step * 64) % 256:][:64]
        loss = F.mse_loss(decoder(encoder(x)), x, reduction="sum") / len(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    if not last < 0.9 * first:
        raise Mistake("does_not_learn", f"trained behind an encoder for {steps} steps, the loss went from "
                      f"{first:.1f} to {last:.1f}: it did not fall by a tenth.",
                      "Check that no activation sits where it blocks the gradient (a ReLU right before the "
                      "sigmoid, say) and that the layers are not frozen (`requires_grad=False`).")
