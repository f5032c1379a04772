"""The authors' package (gdtuo 1.0) as our oracle: the same stack built as its optimizer objects.

Needs ``gradient-descent-the-ultimate-optimizer==1.0`` (the ``test`` extra); only
the oracle tests and the speed benchmark import this module.

One deviation is ours on purpose: where an ``sgd_per_param`` level tunes only
some hyperparameters of the level below, we learn the others with their fixed
step size (what the stack says); gdtuo's ``SGDPerParam`` replaces an untuned
entry by a detached copy, which cuts the chain below it, so the hyperparameter
it governs never moves (``tests/hyper/test_oracle.py`` pins both behaviours).
"""

from __future__ import annotations

import torch
from gradient_descent_the_ultimate_optimizer import gdtuo

from training.hyper.stackspec import LevelSpec, Stack


def _level(level: LevelSpec, below: LevelSpec | None, above: gdtuo.Optimizable) -> gdtuo.Optimizable:
    v = dict(level.values)
    name = level.optimizer
    if name == "sgd":
        return gdtuo.SGD(alpha=v["alpha"], mu=v["mu"], optimizer=above)
    if name == "sgd_per_param":
        # gdtuo names an SGDPerParam's own parameters '<name>_alpha': one above it must use those names
        suffix = "_alpha" if below is not None and below.optimizer == "sgd_per_param" else ""
        return gdtuo.SGDPerParam([(key + suffix, value) for key, value in level.values], optimizer=above)
    if name == "adagrad":
        return gdtuo.AdaGrad(alpha=v["alpha"], optimizer=above)
    if name == "rmsprop":
        return gdtuo.RMSProp(alpha=v["alpha"], gamma=v["gamma"], optimizer=above)
    if name == "rmsprop_alpha":
        return gdtuo.RMSPropAlpha(alpha=v["alpha"], gamma=v["gamma"], optimizer=above)
    if name == "adam":
        return gdtuo.Adam(alpha=v["alpha"], beta1=v["beta1"], beta2=v["beta2"], optimizer=above)
    if name == "adam_alpha":
        return gdtuo.AdamBaydin(alpha=v["alpha"], beta1=v["beta1"], beta2=v["beta2"], optimizer=above)
    raise ValueError(name)


def build_reference(stack: Stack) -> gdtuo.Optimizable:
    """The gdtuo optimizer object for ``stack`` (built from the top down)."""
    above = gdtuo.NoOpOptimizer()
    for depth in range(len(stack) - 1, -1, -1):
        above = _level(stack[depth], stack[depth - 1] if depth else None, above)
    return above


def reference_raw(optimizer: gdtuo.Optimizable) -> list[torch.Tensor]:
    """Raw hyperparameter vectors of every level of a gdtuo stack, bottom-up."""
    levels = []
    while not isinstance(optimizer, gdtuo.NoOpOptimizer):
        levels.append(torch.stack([p.detach().clone() for p in optimizer.parameters.values()]))
        optimizer = optimizer.optimizer
    return levels
