"""The networks of the paper's experiments, as ordinary modules.

Training treats a model as a pure function of its weights
(``torch.func.functional_call``), so a module here only has to define its
parameters, their initialisation and the forward pass. Buffers (batch-norm
running statistics) stay in the module and are updated in place by the
forward pass in training mode, whatever tensors are passed as weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MLP(nn.Module):
    """The paper's MNIST network: 784-128-10, tanh after both layers, log-softmax.

    nn.Linear's default initialisation is Kaiming-uniform with a = sqrt(5), as in [P].
    """

    def __init__(self, n_in: int = 784, n_hidden: int = 128, n_out: int = 10):
        super().__init__()
        self.layer1 = nn.Linear(n_in, n_hidden)
        self.layer2 = nn.Linear(n_hidden, n_out)

    def forward(self, x: Tensor) -> Tensor:
        """x: [batch, 784] -> log-probabilities [batch, 10]."""
        return F.log_softmax(torch.tanh(self.layer2(torch.tanh(self.layer1(x)))), dim=1)


MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # torchvision's MNIST statistics, as [H] normalises its inputs


def normalised(pixels: Tensor) -> Tensor:
    """MNIST pixels in [0, 1] -> zero mean, unit variance over the training set."""
    return (pixels - MNIST_MEAN) / MNIST_STD


class HDLogReg(nn.Module):
    """[H]'s logistic regression: normalised pixels, one linear layer 784-10, log-softmax."""

    def __init__(self, n_in: int = 784, n_out: int = 10):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, x: Tensor) -> Tensor:
        """x: [batch, 784] in [0, 1] -> log-probabilities [batch, 10]."""
        return F.log_softmax(self.linear(normalised(x)), dim=1)


class HDMLP(nn.Module):
    """[H]'s MNIST MLP: normalised pixels, 784-1000-1000-10, ReLU after both hidden layers, log-softmax."""

    def __init__(self, n_in: int = 784, n_hidden: int = 1000, n_out: int = 10):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))

    def forward(self, x: Tensor) -> Tensor:
        """x: [batch, 784] in [0, 1] -> log-probabilities [batch, 10]."""
        return F.log_softmax(self.layers(normalised(x)), dim=1)


class BasicBlock(nn.Module):
    """Two 3x3 conv + batch norm layers with an identity shortcut (He et al.'s option A).

    When the block halves the resolution and doubles the channels, the shortcut
    subsamples by 2 and pads the new channels with zeros: no parameters.
    """

    def __init__(self, n_in: int, n_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(n_in, n_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(n_out)
        self.conv2 = nn.Conv2d(n_out, n_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(n_out)
        self.stride, self.extra = stride, n_out - n_in

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x
        if self.stride != 1 or self.extra:
            shortcut = F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))
        return F.relu(out + shortcut)


class ResNet20(nn.Module):
    """He et al. (2016) CIFAR ResNet with n = 3: 3 stages of 3 blocks, 16/32/64 channels.

    Conv and linear weights: Kaiming-normal (He et al.'s initialisation); batch norm
    starts at scale 1, shift 0. About 0.27 M parameters.
    """

    def __init__(self, n_classes: int = 10, blocks: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers, width = [], 16
        for stage, channels in enumerate((16, 32, 64)):
            for block in range(blocks):
                layers.append(BasicBlock(width, channels, 2 if stage and not block else 1))
                width = channels
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(64, n_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x: Tensor) -> Tensor:
        """x: [batch, 3, 32, 32] normalised images -> log-probabilities [batch, 10]."""
        out = self.blocks(F.relu(self.bn(self.conv(x))))
        return F.log_softmax(self.fc(out.mean(dim=(2, 3))), dim=1)


class CharLSTM(nn.Module):
    """Character model: embedding, 2 LSTM layers of 128 written from elementary ops, linear.

    torch-rnn's defaults fill what [P] leaves open: embedding 64, no dropout.
    Initialisation as nn.LSTM's: uniform(-1/sqrt(hidden), 1/sqrt(hidden)).
    ``forward(tokens, state)`` carries the hidden state between calls so that
    training can truncate backpropagation at chunk boundaries.
    """

    def __init__(self, vocab: int = 80, embedding: int = 64, hidden: int = 128, layers: int = 2):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.embed = nn.Embedding(vocab, embedding)
        bound = hidden**-0.5
        sizes = [embedding] + [hidden] * (layers - 1)
        self.w_in = nn.ParameterList(nn.Parameter(torch.empty(4 * hidden, n).uniform_(-bound, bound)) for n in sizes)
        self.w_rec = nn.ParameterList(nn.Parameter(torch.empty(4 * hidden, hidden).uniform_(-bound, bound)) for _ in sizes)
        self.bias = nn.ParameterList(nn.Parameter(torch.empty(4 * hidden).uniform_(-bound, bound)) for _ in sizes)
        self.out = nn.Linear(hidden, vocab)

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> Tensor:
        """Zeros of shape [layers, 2 (h, c), batch, hidden]."""
        return torch.zeros(self.layers, 2, batch, self.hidden, device=device)

    def forward(self, tokens: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """tokens: [batch, time] int64 -> (log-probabilities [batch, time, vocab], new state)."""
        x = self.embed(tokens)
        finals = []
        for layer in range(self.layers):
            h, c = state[layer, 0], state[layer, 1]
            # the input projection of every time step at once; only the recurrence is sequential
            projected = F.linear(x, self.w_in[layer], self.bias[layer])
            outputs = []
            for t in range(tokens.shape[1]):
                gates = projected[:, t] + h @ self.w_rec[layer].t()
                i, f, g, o = gates.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outputs.append(h)
            x = torch.stack(outputs, dim=1)
            finals.append(torch.stack((h, c)))
        return F.log_softmax(self.out(x), dim=-1), torch.stack(finals)
