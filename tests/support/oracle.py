"""Drive the authors' package (gdtuo 1.0) and our stacks side by side, for the oracle tests."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from gradient_descent_the_ultimate_optimizer import gdtuo

from training.hyper.reference import build_reference, reference_raw
from training.hyper.stack import HyperStack
from training.hyper.stackspec import Stack


class TinyMLP(torch.nn.Module):
    """The paper's MLP shape (tanh after both layers, log-softmax), scaled down."""

    def __init__(self, n_in: int = 12, n_hidden: int = 8, n_out: int = 3):
        super().__init__()
        self.layer1 = torch.nn.Linear(n_in, n_hidden)
        self.layer2 = torch.nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return F.log_softmax(torch.tanh(self.layer2(torch.tanh(self.layer1(x)))), dim=1)


def run_side_by_side(stack: Stack, steps: int, seed: int = 0):
    """Train the same float64 TinyMLP with gdtuo and with HyperStack on the same batches.

    Yields per step: (reference loss, our loss, reference weights, our weights,
    reference raw hyperparameters per level, ours).
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # gdtuo builds its tensors in the default dtype
    try:
        torch.manual_seed(seed)
        model = TinyMLP()
        ours = [p.detach().clone() for p in model.parameters()]
        names = [name for name, _ in model.named_parameters()]
        data = torch.randn(steps, 16, 12)
        labels = (data @ torch.randn(12, 3)).argmax(-1)  # a learnable rule, so training can progress
        wrapper = gdtuo.ModuleWrapper(model, optimizer=build_reference(stack))
        wrapper.initialize()
        mine = HyperStack(stack, ours[0])
        for x, y in zip(data, labels):
            wrapper.begin()
            ref_loss = F.nll_loss(wrapper.forward(x), y)
            wrapper.zero_grad()
            ref_loss.backward(create_graph=True)
            wrapper.step()

            weights = [w.requires_grad_() for w in ours]
            out = torch.func.functional_call(model, dict(zip(names, weights)), (x,))
            loss = F.nll_loss(out, y)
            grads = torch.autograd.grad(loss, weights)
            ours = mine.step(weights, list(grads))
            yield (
                ref_loss.detach(),
                loss.detach(),
                [wrapper.parameters[n].detach() for n in names],
                ours,
                reference_raw(wrapper.optimizer),
                [raw.detach() for raw in mine.raw],
            )
    finally:
        torch.set_default_dtype(previous)
