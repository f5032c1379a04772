"""The networks of the paper's experiments, as ordinary modules.

Training treats a model as a pure function of its weights
(``torch.func.functional_call``), so a module here only has to define its
parameters, their initialisation and the forward pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    """The paper's MNIST network: 784-128-10, tanh after both layers, log-softmax.

    nn.Linear's default initialisation is Kaiming-uniform with a = sqrt(5), as in [P].
    """

    def __init__(self, n_in: int = 784, n_hidden: int = 128, n_out: int = 10):
        super().__init__()
        self.layer1 = nn.Linear(n_in, n_hidden)
        self.layer2 = nn.Linear(n_hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [batch, 784] -> log-probabilities [batch, 10]."""
        return F.log_softmax(torch.tanh(self.layer2(torch.tanh(self.layer1(x)))), dim=1)


MODELS = {"mlp": MLP}


def build_model(name: str, seed: int) -> nn.Module:
    """A freshly initialised model; the same seed gives the same weights."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return MODELS[name]()
    finally:
        torch.random.set_rng_state(generator_state)
