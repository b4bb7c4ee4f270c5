"""Training: ``fit`` slices batches from tensors held in memory, ``fit_cached`` trains once and loads afterwards.

No DataLoader, no per-sample transforms: MNIST-sized data sets fit in memory many times over, and slicing one
tensor is several times faster on a CPU than assembling batches from single PIL images.

Nothing is lost and nothing is silently wrong: bad arguments and data are refused by name, a run whose loss or
outputs stop being finite, or that ends worse than it began, stops with :class:`TrainingDiverged` and is never
cached; a checkpoint is used only when its stored key and the digest of its tensors match; a cache that cannot be
written costs the cache, not the trained model.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import dis
import hashlib
import inspect
import json
import math
import numbers
import os
import platform
import tempfile
import textwrap
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Union

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import config
from .losses import model_loss

Data = Union[Tensor, tuple[Tensor, ...]]
LossFn = Callable[[nn.Module, tuple[Tensor, ...]], Mapping[str, Tensor]]
History = dict[str, list[float]]
CACHE_VERSION = 3
"""Part of every cache key; version 2 added the code of the model and the loss, version 3 counts a class by its
methods (so that a class written out in a notebook and the same class in `helpers` share one checkpoint)."""
WORSE_THAN_START = 1.1
"""A run whose last epoch's mean training loss exceeds the untrained model's loss on the first batch by more than
this factor (for a loss of either sign: by more than 10 % of its size) has diverged, even while it stays finite."""
_MALLOC_OPTIONS = {-1: 1 << 30, -3: 1 << 28}
"""glibc's mallopt: M_TRIM_THRESHOLD (-1) 1 GiB and M_MMAP_THRESHOLD (-3) 256 MiB, as GLIBC_TUNABLES in the Makefile."""


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be read or written, was damaged, or was made for another recipe or model."""


class TrainingDiverged(FloatingPointError):
    """Training stopped because the loss or an output stopped being finite, or it ended worse than it started.

    ``history`` holds the epochs completed before it stopped.
    """

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


class _NotFinite(Exception):
    """Raised inside :func:`fit` when a loss or an output is NaN or infinite; ``what`` names it."""

    def __init__(self, what: str, value: float) -> None:
        super().__init__(what)
        self.what, self.value = what, value


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed memory for the next batch instead of returning it to the system each time.

    By default glibc gives every large freed block back (``munmap``, heap trimming) and the next batch faults the
    pages in again: a third of a CPU training step went to system time. This sets at run time what
    ``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824`` sets at start
    (``make`` does), for kernels started otherwise (Colab, a plain ``jupyter lab``). Returns whether it applied:
    not outside glibc (macOS, Windows) and not when ``GLIBC_TUNABLES`` already sets malloc.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return all(libc.mallopt(option, value) == 1 for option, value in _MALLOC_OPTIONS.items())
    except (OSError, AttributeError):
        return False


SCHEDULES = ("constant", "one-cycle")
"""The learning-rate schedules of :func:`fit`."""


def _adam(parameters: list[nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam, fused into one kernel per step where this torch and device have it (CPU since torch 2.4): the same
    update, about three times faster than the loop over parameters."""
    try:
        return torch.optim.Adam(parameters, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device or dtype
        return torch.optim.Adam(parameters, lr=lr)


def _as_tuple(data: Data, name: str = "data") -> tuple[Tensor, ...]:
    tensors = (data,) if isinstance(data, Tensor) else tuple(data)
    if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
        raise ValueError(f"{name} must be a tensor or a tuple of tensors of equal length")
    if len(tensors[0]) == 0:
        raise ValueError(f"{name} holds no images: it is empty (a filter or a slice that kept nothing?)")
    return tensors


def _check_settings(epochs: int, batch_size: int, lr: float) -> None:
    """Refuse a wrong training argument by name."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a number > 0 (the course's recipes use 1e-3 to 1e-2), got {lr!r}")


def _check_images(model: nn.Module, images: Tensor, name: str, bce: bool) -> None:
    """Refuse, naming the fix, images ``N×C×H×W`` that ``model`` cannot take or the BCE loss would misread."""
    weights = next((p for p in model.parameters() if p.is_floating_point()), None)
    if images.dim() != 4 or weights is None:  # not images, or no weights to compare with: not ours to judge
        return
    if images.dtype != weights.dtype:
        wanted = str(weights.dtype).removeprefix("torch.")
        convert = "x.float()" if weights.dtype == torch.float32 else f"x.to({weights.dtype})"
        fix = convert if images.is_floating_point() else f"{convert} / 255"
        raise TypeError(f"{name} images are {images.dtype}, the model takes {wanted} in [0, 1]: convert with {fix}")
    if not torch.isfinite(images).all():
        raise ValueError(f"{name} holds NaN or infinite values: replace or drop those images")
    low, high = (float(v) for v in torch.aminmax(images))
    if bce and (low < 0 or high > 1):
        raise ValueError(
            f"{name} images lie in [{low:g}, {high:g}], but the BCE loss needs [0, 1]: scale them "
            f"(pixels 0-255: x / 255), or choose recon='mse'"
        )


def _default_loss(recon: str, beta: float) -> LossFn:
    def loss(model: nn.Module, batch: tuple[Tensor, ...]) -> Mapping[str, Tensor]:
        return model_loss(model, batch[0], recon=recon, beta=beta)

    return loss


def _batches(tensors: tuple[Tensor, ...], order: Tensor, batch_size: int, device: torch.device):
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        yield tuple(t[idx].to(device, non_blocking=True) for t in tensors)


def _check_finite(value: Tensor, what: str) -> None:
    """Raise :class:`_NotFinite` naming ``what`` when ``value`` holds a NaN or an infinity."""
    finite = torch.isfinite(value)
    if not finite.all():
        raise _NotFinite(what, float(value[~finite].flatten()[0]))


@contextlib.contextmanager
def _outputs_checked(model: nn.Module) -> Iterator[None]:
    """Within: a NaN or infinite output of ``model`` or of one of its direct submodules raises :class:`_NotFinite`
    naming it, before any loss (torch's BCE, for one) sees it."""
    top = type(model).__name__
    names = {model: top} | {child: f"{top}.{name}" for name, child in model.named_children()}

    def check(module: nn.Module, args: Any, output: Any) -> None:
        for value in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(value, Tensor) and value.is_floating_point():
                _check_finite(value.detach(), f"the output of {names[module]}")

    handles = [module.register_forward_hook(check) for module in names]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def evaluate(
    model: nn.Module, data: Data, loss_fn: LossFn | None = None, *, recon: str = "bce", beta: float = 1.0,
    batch_size: int = 1000, device: torch.device | None = None,
) -> dict[str, float]:
    """Mean loss parts over a whole data set, in evaluation mode (a VAE still samples: its loss is an ELBO).

    Images are checked as in :func:`fit`: float32 in [0, 1] (the range for the default BCE loss only).
    """
    tensors = _as_tuple(data)
    _check_images(model, tensors[0], "data", bce=loss_fn is None and recon == "bce")
    return _evaluate(model, tensors, loss_fn or _default_loss(recon, beta), batch_size,
                     device or next(model.parameters()).device)


@torch.no_grad()
def _evaluate(
    model: nn.Module, tensors: tuple[Tensor, ...], loss_fn: LossFn, batch_size: int, device: torch.device
) -> dict[str, float]:
    model.eval()
    sums: dict[str, float] = {}
    order = torch.arange(len(tensors[0]))
    for batch in _batches(tensors, order, batch_size, device):
        for key, value in loss_fn(model, batch).items():
            sums[key] = sums.get(key, 0.0) + float(value) * len(batch[0])
    return {key: total / len(order) for key, total in sums.items()}


def fit(
    model: nn.Module,
    train: Data,
    test: Data | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    recon: str = "bce",
    beta: float = 1.0,
    loss_fn: LossFn | None = None,
    seed: int = 0,
    schedule: str = "constant",
    device: torch.device | str | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> History:
    """Train ``model`` with Adam and return its history; the model ends on the CPU, ready to use.

    ``schedule="constant"`` keeps the learning rate at ``lr``; ``"one-cycle"`` (``torch.optim.lr_scheduler.
    OneCycleLR``) warms it up from ``lr / 25`` to ``lr`` over the first quarter of the steps and anneals it to
    nearly 0 by the last, which reaches a given loss in fewer epochs.

    ``train`` and ``test`` are a tensor of images or a tuple of tensors (images, labels, ...); images must be
    float32 in [0, 1] (a ``TypeError`` or ``ValueError`` names the fix). The default loss is
    :func:`helpers.losses.model_loss` with ``recon`` and ``beta``; ``loss_fn(model, batch)`` replaces it and
    returns a mapping with at least ``"total"``. History keys: ``train_<part>`` and ``test_<part>`` for each part
    (total, recon, kl), one value per epoch, and ``seconds`` per epoch.

    ``seed`` fixes the order of the batches and the random draws of training (a VAE's ε); the model keeps the
    initial weights it came with, so seed before building it (``helpers.setup()`` does) for a run that repeats.
    :func:`fit_cached` re-initializes the weights from ``seed`` instead.

    Raises :class:`TrainingDiverged` (a ``FloatingPointError``) naming the learning rate when the loss or an
    output of the model turns NaN or infinite (the model then gets back its last weights that gave a finite loss),
    and when the last epoch's mean training loss is worse than the untrained model's on the first batch (see
    ``WORSE_THAN_START``). On Linux it first calls :func:`keep_freed_memory` (faster steps, same numbers).
    """
    _check_settings(epochs, batch_size, lr)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    tensors = _as_tuple(train, "train")
    test_tensors = None if test is None else _as_tuple(test, "test")
    for data, name in ((tensors, "train"), (test_tensors, "test")):
        if data is not None:
            _check_images(model, data[0], name, bce=loss_fn is None and recon == "bce")
    keep_freed_memory()
    loss_fn = loss_fn or _default_loss(recon, beta)
    device = torch.device(device) if device is not None else config.pick_device()
    torch.manual_seed(seed)
    shuffle = torch.Generator().manual_seed(seed)
    model.to(device)
    optimizer = _adam(list(model.parameters()), lr)
    n_batches = math.ceil(len(tensors[0]) / batch_size)
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * n_batches,
                                                     pct_start=0.25) if schedule == "one-cycle" else None)
    history: History = {}
    first_loss: float | None = None
    epoch, where, good_weights, good_at = 0, "", _copy_weights(model), "from before training"
    bar = tqdm(total=epochs * n_batches, desc=desc or type(model).__name__, disable=not progress,
               unit="batch", mininterval=0.5)
    try:
        with _outputs_checked(model):
            for epoch in range(1, epochs + 1):
                start = time.perf_counter()
                model.train()
                sums: dict[str, float] = {}
                order = torch.randperm(len(tensors[0]), generator=shuffle)
                for i, batch in enumerate(_batches(tensors, order, batch_size, device), 1):
                    where = f"in epoch {epoch}, batch {i}"
                    parts = loss_fn(model, batch)
                    loss = parts["total"]
                    _check_finite(loss.detach(), "the loss")
                    if first_loss is None:
                        first_loss = float(loss.detach())
                    good_weights, good_at = _copy_weights(model), f"from before batch {i} of epoch {epoch}"
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    if scheduler is not None:
                        scheduler.step()
                    for key, value in parts.items():
                        sums[key] = sums.get(key, 0.0) + float(value.detach()) * len(batch[0])
                    bar.update()
                    if i % 20 == 0:
                        bar.set_postfix(epoch=epoch, loss=f"{float(loss.detach()):.2f}")
                for key, total in sums.items():
                    history.setdefault(f"train_{key}", []).append(total / len(order))
                if test_tensors is not None:
                    where = f"on the test set after epoch {epoch}"
                    results = _evaluate(model, test_tensors, loss_fn, 1000, device)
                    _check_finite(torch.tensor(results["total"]), "the loss")
                    for key, value in results.items():
                        history.setdefault(f"test_{key}", []).append(value)
                history.setdefault("seconds", []).append(time.perf_counter() - start)
                shown = {"train": history["train_total"][-1]}
                if test is not None:
                    shown["test"] = history["test_total"][-1]
                bar.set_postfix(epoch=epoch, **{k: f"{v:.2f}" for k, v in shown.items()})
    except _NotFinite as error:
        model.load_state_dict(good_weights)
        raise TrainingDiverged(
            f"training stopped: {error.what} became {error.value} {where} (lr={lr:g}). The model is back to its "
            f"last weights that gave a finite loss, {good_at}. Try a smaller learning rate, e.g. lr={lr / 10:g}, "
            f"or check the loss function.",
            history,
        ) from None
    finally:
        bar.close()
        model.to("cpu").eval()
    _check_progress(history, first_loss, lr)
    return history


def _copy_weights(model: nn.Module) -> dict[str, Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _check_progress(history: History, first_loss: float | None, lr: float) -> None:
    """Raise :class:`TrainingDiverged` when the last epoch ends worse than the untrained model began."""
    last = history["train_total"][-1]
    if first_loss is not None and last > first_loss + (WORSE_THAN_START - 1) * abs(first_loss):
        raise TrainingDiverged(
            f"training diverged: the last epoch's mean training loss, {last:,.1f}, is worse than the "
            f"untrained model's {first_loss:,.1f} on the first batch (lr={lr:g}). The loss stayed finite, but "
            f"the steps were too large: try a smaller learning rate, e.g. lr={lr / 10:g}.",
            history,
        )


def _hash_tensors(digest: Any, named: Iterable[tuple[str, Tensor]]) -> None:
    """Feed each tensor's name, dtype, shape and bytes into ``digest`` (a hashlib object)."""
    for name, tensor in named:
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())


def fingerprint(data: Data | None) -> str | None:
    """A short hash of tensors' shapes and bytes: the data part of a cache key."""
    if data is None:
        return None
    digest = hashlib.sha1()
    _hash_tensors(digest, (("", t) for t in _as_tuple(data)))
    return digest.hexdigest()[:16]


def _checkpoint_digest(state_dict: Mapping[str, Tensor], history: History) -> str:
    """sha256 over every tensor (name, dtype, shape, bytes) and the history: what a checkpoint's file must match."""
    digest = hashlib.sha256()
    _hash_tensors(digest, sorted(state_dict.items()))
    digest.update(json.dumps(history, sort_keys=True).encode())
    return digest.hexdigest()


def save_checkpoint(path: Path, model: nn.Module, history: History, meta: Mapping[str, Any]) -> None:
    """Write weights, history, metadata and their digest atomically (a temporary file, then a rename).

    Raises CheckpointError, naming the folder, when it cannot be written. The temporary file is removed whatever
    happens, a ``KeyboardInterrupt`` during the save included.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"state_dict": state, "history": history,
               "meta": {**meta, "digest": _checkpoint_digest(state, history)}}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:  # torch.save reports an unwritable file as a RuntimeError
        raise CheckpointError(
            f"the checkpoint cache {path.parent} cannot be written ({type(error).__name__}: {str(error)[:200]})"
        ) from error
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def load_checkpoint(
    path: Path, model: nn.Module, key: Mapping[str, Any] | None = None
) -> tuple[History, dict[str, Any]]:
    """Load weights into ``model`` (``weights_only=True``: no code is unpickled); return history and metadata.

    Before the weights are used, the tensors are checked against the digest stored with them and, when ``key`` is
    given, the key stored with them is compared with it. Raises CheckpointError, naming the file and the fault,
    when it is unreadable, damaged, made for another key or does not fit the model.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        state, history, meta = payload["state_dict"], payload["history"], payload["meta"]
        if meta.get("digest") != _checkpoint_digest(state, history):
            raise CheckpointError(
                f"checkpoint {path.name} is damaged: its tensors do not match the digest stored with them."
            )
        if key is not None and meta.get("key") != _key_json(key):
            differences = _differences(json.loads(meta.get("key", "{}")), json.loads(_key_json(key)))
            raise CheckpointError(f"checkpoint {path.name} was made for another recipe ({differences}).")
        model.load_state_dict(state)
        return history, meta
    except CheckpointError:
        raise
    except Exception as error:  # a truncated zip, a foreign pickle, wrong keys or shapes
        raise CheckpointError(
            f"checkpoint {path} cannot be used ({type(error).__name__}: {str(error)[:200]}). "
            f"Delete it and the model is trained again."
        ) from error


def _differences(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    """The fields in which two cache keys differ, e.g. ``config.activation 'relu' there, 'leaky_relu' here``."""
    flat_stored, flat_wanted = _flatten(stored), _flatten(wanted)
    fields = [f for f in sorted(flat_stored.keys() | flat_wanted.keys()) if flat_stored.get(f) != flat_wanted.get(f)]
    shown = [f"{f} {flat_stored.get(f)!r} there, {flat_wanted.get(f)!r} here" for f in fields[:3]]
    return "; ".join(shown) + (f"; {len(fields) - 3} more" if len(fields) > 3 else "")


def _flatten(key: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in key.items():
        if isinstance(value, Mapping):
            flat |= _flatten(value, f"{prefix}{name}.")
        else:
            flat[f"{prefix}{name}"] = value
    return flat


# --- the cache key: what defines a trained model, its code included --------------------------------------------


def cache_key(
    model: nn.Module, train: Data, test: Data | None, loss_fn: LossFn | None, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """What defines the model :func:`fit_cached` trains: the model's class, ``config`` and code (of every class
    among its modules and their bases that is not torch's), fingerprints of the data, the loss function's name
    and code (the default loss: :func:`helpers.losses.model_loss`), and the training ``settings``.
    The checkpoint keeps it as readable JSON, and a load compares it."""
    return {
        "version": CACHE_VERSION,
        "model": type(model).__qualname__,  # a notebook's class and the one exported to helpers are one model
        "config": getattr(model, "config", repr(model)),
        "model_code": code_digest(_model_classes(model)),
        "train": fingerprint(train),
        "test": fingerprint(test),
        "loss_fn": f"{loss_fn.__module__}.{loss_fn.__qualname__}" if loss_fn else None,
        "loss_code": code_digest([loss_fn or model_loss]),
        **settings,
    }


def _key_json(key: Mapping[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, default=str)


def _model_classes(model: nn.Module) -> list[type]:
    """The classes of ``model``'s modules and their bases, torch's own left out."""
    classes: list[type] = []
    for module in model.modules():
        for cls in type(module).__mro__:
            if cls not in classes and not _is_library(cls):
                classes.append(cls)
    return classes


def _is_library(obj: Any) -> bool:
    return obj.__module__.partition(".")[0] in {"builtins", "torch", "torchvision"}


def code_digest(objects: Iterable[Any]) -> str:
    """A short hash of the code of ``objects`` (functions and classes) and, followed recursively, of the functions,
    classes and constants they use from their own module, the course's ``helpers`` or the notebook (``__main__``).

    A function or class counts by its source as Python parses it (comments, layout and docstrings do not count);
    where there is no source (a class defined in a notebook cell, code made by ``exec``) and for lambdas, by its
    bytecode, constants and names. Defaults and closed-over values count too.
    """
    digest = hashlib.sha256()
    pending, seen = list(objects), set()
    while pending:
        obj = pending.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        text, uses = _code_parts(obj)
        digest.update(text.encode())
        pending.extend(uses)
    return digest.hexdigest()[:16]


def _code_parts(obj: Any) -> tuple[str, list[Any]]:
    """The text standing for the code of ``obj`` (a function or class) and the functions and classes it uses."""
    text, uses = [_code_text(obj)], []
    functions = [obj] if inspect.isfunction(obj) else [fn for _, fn in _methods(obj)]
    for fn in functions:
        values = {name: fn.__globals__[name] for name in _global_names(fn.__code__) if name in fn.__globals__}
        for i, cell in enumerate(fn.__closure__ or ()):
            with contextlib.suppress(ValueError):  # an empty cell
                values[f"{fn.__qualname__} closure {i}"] = cell.cell_contents
        for i, default in enumerate((*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).items())):
            values[f"{fn.__qualname__} default {i}"] = default
        for name, value in sorted(values.items()):
            _collect(name, value, fn.__module__, text, uses)
    return "\n".join(text), uses


def _collect(name: str, value: Any, module: str, text: list[str], uses: list[Any], depth: int = 0) -> None:
    """Put a constant ``value`` (or a library's function or class, by name) into ``text``, and a function or class
    of the code in ``module``, the notebook or the course's package into ``uses``."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        text.append(f"{name}={value!r}")
    elif inspect.isfunction(value) or inspect.isclass(value):
        if value.__module__ in (module, "__main__") or value.__module__.partition(".")[0] == __package__:
            uses.append(value)
        else:  # a library's: its name stands for it
            text.append(f"{name}={value.__module__}.{value.__qualname__}")
    elif isinstance(value, (tuple, list, dict)) and depth < 3:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, item in items:
            _collect(f"{name}[{k!r}]", item, module, text, uses, depth + 1)


def _global_names(code: types.CodeType) -> list[str]:
    """The global names that ``code`` and the code nested in it load."""
    names = [i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _global_names(const)
    return names


def _methods(cls: type) -> list[tuple[str, types.FunctionType]]:
    """The functions defined in a class body (methods, static and class methods, property accessors), by name."""
    found = []
    for name, member in sorted(vars(cls).items()):
        member = getattr(member, "__func__", member)
        accessors = (member.fget, member.fset, member.fdel) if isinstance(member, property) else (member,)
        found += [(name, fn) for fn in accessors if inspect.isfunction(fn)]
    return found


def _code_text(obj: Any) -> str:
    """The text standing for ``obj``'s code. A function: its source as parsed, without its docstring (a lambda: the
    line it stands on); its bytecode when there is no source. A class: its name, its bases' names, its methods (each as a function)
    and its simple class attributes, so that a class written out in a notebook cell (where a class has no source
    file) and the same class exported to ``helpers`` give the same text, and share one checkpoint."""
    if not inspect.isfunction(obj):
        methods = [f"{name}: {_code_text(fn)}" for name, fn in _methods(obj)]
        constants = [f"{name}={value!r}" for name, value in sorted(vars(obj).items())
                     if not name.startswith("__") and isinstance(value, (bool, int, float, str, type(None)))]
        return f"class {obj.__qualname__}{tuple(b.__qualname__ for b in obj.__bases__)}: {methods} {constants}"
    try:
        source = inspect.getsource(obj)
        if obj.__name__ == "<lambda>":  # its line, which may hold more code: a change there retrains, to be safe
            return " ".join(source.split())
        tree = ast.parse(textwrap.dedent(source))
    except (OSError, TypeError, SyntaxError):
        return _code_repr(obj.__code__)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and ast.get_docstring(node):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _code_repr(code: types.CodeType) -> str:
    """A code object's name, arguments, bytecode, names and constants (nested code objects the same way)."""
    consts = [
        _code_repr(c) if isinstance(c, types.CodeType) else repr(sorted(c, key=repr) if isinstance(c, frozenset) else c)
        for c in code.co_consts
    ]
    return f"{code.co_name}{code.co_varnames[: code.co_argcount]} {code.co_code.hex()} {code.co_names} {consts}"


def _reset_parameters(model: nn.Module, seed: int) -> None:
    torch.manual_seed(seed)
    for module in model.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()


def fit_cached(model: nn.Module, train: Data, test: Data | None = None, *, name: str | None = None,
               **fit_kwargs: Any) -> History:
    """Like :func:`fit`, but train only once: later calls with the same key load the weights instead.

    The key (:func:`cache_key`) holds the model's class, ``config`` and code, fingerprints of ``train`` and
    ``test``, the loss function and its code, and the training arguments (epochs, batch size, learning rate, β,
    seed). The model is re-initialized from ``seed`` before training, so the result depends on the key alone.
    Checkpoints live in ``helpers.config.CHECKPOINT_DIR``. One is used only when it was made for this key and its
    tensors match the digest stored with them; otherwise a line says why, and the model is trained again. A run
    that diverges raises :class:`TrainingDiverged` and is not cached; a cache that cannot be written costs one
    printed line, and the trained model and its history are returned all the same.
    """
    label = name or type(model).__name__
    path, key = checkpoint_path(model, train, test, name=name, **fit_kwargs)
    with _one_trainer(path, label):
        return _load_or_train(model, train, test, path, label, key, key["seed"], fit_kwargs)


def checkpoint_path(model: nn.Module, train: Data, test: Data | None = None, *, name: str | None = None,
                    **fit_kwargs: Any) -> tuple[Path, dict[str, Any]]:
    """Where :func:`fit_cached` keeps this model, and its key: ``CHECKPOINT_DIR/<name>-<digest of the key>.pt``."""
    settings = {k: fit_kwargs.get(k, v) for k, v in
                {"epochs": 10, "batch_size": 128, "lr": 1e-3, "recon": "bce", "beta": 1.0, "seed": 0,
                 "schedule": "constant"}.items()}
    key = cache_key(model, train, test, fit_kwargs.get("loss_fn"), settings)
    digest = hashlib.sha1(_key_json(key).encode()).hexdigest()[:16]
    return config.CHECKPOINT_DIR / f"{name or type(model).__name__}-{digest}.pt", key


@contextlib.contextmanager
def _one_trainer(path: Path, label: str) -> Iterator[None]:
    """While held, no other process on this machine trains the model of ``path``: a second notebook (or test) that
    asks for it waits, then loads it from the cache instead of training it again. The lock is a file in the system's
    temporary folder, so the cache itself holds checkpoints only; without ``fcntl`` (Windows) there is no lock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    lock = Path(tempfile.gettempdir()) / f"ae-vae-course-{hashlib.sha1(str(path).encode()).hexdigest()[:16]}.lock"
    try:
        handle = open(lock, "a")  # noqa: SIM115 - held open for the whole block
    except OSError:
        yield
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{label}: another process is training this model; waiting for it, then loading it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _load_or_train(model: nn.Module, train: Data, test: Data | None, path: Path, label: str,
                   key: Mapping[str, Any], seed: int, fit_kwargs: dict[str, Any]) -> History:
    """The body of :func:`fit_cached`: load ``path`` if it is a valid checkpoint for ``key``, else train and save."""
    if path.exists():
        try:
            history, meta = load_checkpoint(path, model, key)
            model.eval()
            print(f"{label}: loaded from the checkpoint cache ({path.name}; training took "
                  f"{meta.get('train_seconds', float('nan')):.0f} s)")
            return history
        except CheckpointError as error:
            print(f"{label}: {error} Training again.")
    _reset_parameters(model, seed)
    start = time.perf_counter()
    try:
        history = fit(model, train, test, desc=fit_kwargs.pop("desc", label), **fit_kwargs)
    except TrainingDiverged as error:
        message = f"{label}: {error} Nothing was written to the checkpoint cache."
        raise TrainingDiverged(message, error.history) from None
    seconds = time.perf_counter() - start
    try:
        save_checkpoint(path, model, history, {"key": _key_json(key), "train_seconds": seconds})
    except CheckpointError as error:
        print(f"{label}: trained in {seconds:.0f} s, but not cached: {error}. To keep trained models, point "
              f"COURSE_DATA_DIR to a writable folder before starting (e.g. export COURSE_DATA_DIR=$HOME/course-data).")
        return history
    print(f"{label}: trained in {seconds:.0f} s and saved to the checkpoint cache ({path.name})")
    return history
