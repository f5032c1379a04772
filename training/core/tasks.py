"""What a benchmark asks of the training loop: batches, the loss, the test metric.

A task owns its data on the training device and turns it into batches with
the run's own generator, so a run is determined by its config and seed.
Randomness (data order, crop offsets, flips) is drawn on the CPU once per
epoch and moved in one copy: nothing in a step waits on the host.

- ``ImageTask``: MNIST (flat floats) and CIFAR-10 (uint8 images, normalised,
  and for training He et al.'s augmentation: 4-pixel zero pad, random 32x32
  crop, horizontal flip, done on whole batches). Metric: test error in %.
- ``TextTask``: a character stream cut into ``batch_size`` parallel streams,
  read in chunks of ``SEQUENCE`` characters with each seed's hidden state carried
  from chunk to chunk and cut from the graph in between (truncated BPTT).
  Metric: test perplexity.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from training.data import Split

EVAL_BATCH = 2_000  # large enough to be fast, small enough for ResNet-20 activations
SEQUENCE = 50  # torch-rnn's default sequence length, which [P] leaves open
# CIFAR-10's published per-channel statistics; fixed, so that a slice of the data is normalised as the whole is
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
PAD = 4


def image_steps(n_train: int, batch_size: int) -> int:
    """Optimizer steps in one pass over ``n_train`` images: the last batch may be short."""
    return -(-n_train // batch_size)


def text_steps(n_train: int, batch_size: int) -> int:
    """Optimizer steps in one pass over ``n_train`` characters read as ``batch_size`` streams in chunks of ``SEQUENCE``."""
    return (n_train // batch_size - 1) // SEQUENCE


class Task(Protocol):
    """What the training loop asks of a benchmark (``ImageTask``, ``TextTask``).

    A task may carry state from one batch to the next within an epoch (the
    char-LSTM's hidden state): ``carried`` gives it for every seed, ``loss`` takes
    one seed's and returns what that seed carries on, ``carry_on`` keeps it.
    """

    metric: str  # the name of the test metric ``evaluate`` returns

    @property
    def steps_per_epoch(self) -> int: ...

    def epoch(self, generators: list[torch.Generator]) -> Iterator[tuple[Tensor, ...]]:
        """One epoch's batches, each tensor with a leading seed dimension; seed s in generator s's order."""
        ...

    def carried(self, model: nn.Module, seeds: int) -> Tensor | None:
        """The state the next batch starts from, [S, ...]; None for a task that carries none."""
        ...

    def loss(self, model: nn.Module, weights: dict[str, Tensor], batch: tuple[Tensor, ...], carry: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """One seed's mean training loss on its batch, differentiable in ``weights``, and the state it carries on."""
        ...

    def carry_on(self, carry: Tensor | None) -> None:
        """Keep every seed's carried state, [S, ...], for the next batch."""
        ...

    def evaluate(self, model: nn.Module, weights: dict[str, Tensor]) -> float:
        """The test metric of one seed's weights."""
        ...


def call(model: nn.Module, weights: dict[str, Tensor], *inputs):
    return torch.func.functional_call(model, weights, inputs)


class ImageTask:
    """Classification: NLL of log-probabilities; ``augment`` for CIFAR-10's training batches."""

    metric = "test_error"

    def __init__(self, train: Split, test: Split, batch_size: int, device: torch.device, augment: bool = False):
        self.train, self.test = train.to(device), test.to(device)
        self.batch_size, self.device, self.augment = batch_size, device, augment
        self.images_are_bytes = train.images.dtype == torch.uint8
        if self.images_are_bytes:
            self.mean = torch.tensor(CIFAR_MEAN, device=device).view(1, 3, 1, 1)
            self.std = torch.tensor(CIFAR_STD, device=device).view(1, 3, 1, 1)

    @property
    def steps_per_epoch(self) -> int:
        return image_steps(len(self.train), self.batch_size)

    def epoch(self, generators: list[torch.Generator]) -> Iterator[tuple[Tensor, Tensor]]:
        """(inputs, labels) batches of one epoch, [S, B, ...] and [S, B]: seed s in generator s's order."""
        n = len(self.train)
        draws = [self._draw(n, generator) for generator in generators]
        # every seed's draws side by side, once per epoch: order [S, n], offsets [S, n, 2], flips [S, n]
        order, offsets, flips = (None if parts[0] is None else torch.stack(parts) for parts in zip(*draws))
        for start in range(0, n, self.batch_size):
            batch = slice(start, start + self.batch_size)
            index = order[:, batch]
            images = self.train.images[index]
            if self.augment:
                images = augment(images.flatten(0, 1), offsets[:, batch].flatten(0, 1), flips[:, batch].flatten(0, 1)).view(images.shape)
            yield self.prepare(images), self.train.labels[index]

    def _draw(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """One seed's epoch of randomness, drawn on the CPU and moved at once: order, crop offsets, flips."""
        order = torch.randperm(n, generator=generator).to(self.device)
        if not self.augment:
            return order, None, None
        offsets = torch.randint(0, 2 * PAD + 1, (n, 2), generator=generator).to(self.device)
        flips = (torch.rand(n, generator=generator) < 0.5).to(self.device)
        return order, offsets, flips

    def prepare(self, images: Tensor) -> Tensor:
        """Model inputs: bytes -> normalised floats; MNIST's floats as they are."""
        return (images.float() / 255.0 - self.mean) / self.std if self.images_are_bytes else images

    def carried(self, model: nn.Module, seeds: int) -> None:
        return None

    def loss(self, model: nn.Module, weights: dict[str, Tensor], batch: tuple[Tensor, Tensor], carry: None = None) -> tuple[Tensor, None]:
        inputs, labels = batch
        return F.nll_loss(call(model, weights, inputs), labels), None

    def carry_on(self, carry: None) -> None:
        pass

    def evaluate(self, model: nn.Module, weights: dict[str, Tensor]) -> float:
        """Percentage of misclassified test examples, batch norm in inference mode."""
        wrong = torch.zeros((), dtype=torch.int64, device=self.device)
        model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(self.test), EVAL_BATCH):
                    out = call(model, weights, self.prepare(self.test.images[start : start + EVAL_BATCH]))
                    wrong += (out.argmax(dim=1) != self.test.labels[start : start + EVAL_BATCH]).sum()
        finally:
            model.train()
        return 100.0 * wrong.item() / len(self.test)


def augment(images: Tensor, offsets: Tensor, flips: Tensor) -> Tensor:
    """He et al.'s augmentation of a batch: pad 4 with zeros, crop 32x32 at ``offsets``, flip.

    images: uint8 [B, C, H, W]; offsets: int64 [B, 2] in 0..8 (row, column); flips: bool [B].
    """
    batch, channels, height, width = images.shape
    padded = F.pad(images, (PAD, PAD, PAD, PAD))
    rows = (offsets[:, 0, None] + torch.arange(height, device=images.device)).view(batch, 1, height, 1)
    cols = offsets[:, 1, None] + torch.arange(width, device=images.device)
    cols = torch.where(flips[:, None], cols.flip(1), cols).view(batch, 1, 1, width)
    return padded[torch.arange(batch, device=images.device).view(batch, 1, 1, 1), torch.arange(channels, device=images.device).view(1, channels, 1, 1), rows, cols]


def streams(ids: Tensor, count: int) -> Tensor:
    """A character stream as ``count`` parallel streams, [count, len(ids) // count]."""
    length = len(ids) // count
    return ids[: count * length].view(count, length)


class TextTask:
    """Next-character prediction with truncated backpropagation through time."""

    metric = "test_perplexity"

    def __init__(self, train: Split, test: Split, batch_size: int, device: torch.device):
        self.vocab_size = len(train.vocab)
        self.train = streams(train.labels.to(device), batch_size)
        self.test = streams(test.labels.to(device), batch_size)
        self.batch_size, self.device = batch_size, device
        if self.train.shape[1] <= SEQUENCE or self.test.shape[1] < 2:
            raise ValueError(f"text too short for {batch_size} streams of more than {SEQUENCE} characters")
        self.state: Tensor | None = None

    @property
    def steps_per_epoch(self) -> int:
        return text_steps(self.train.numel(), self.batch_size)

    def epoch(self, generators: list[torch.Generator]) -> Iterator[tuple[Tensor, Tensor]]:
        """The chunks of one pass in reading order, [S, streams, SEQUENCE] (every seed reads the same text); the
        hidden state starts at zero. The order is the text's, so the generators are not used."""
        self.state = None
        seeds = len(generators)
        for step in range(self.steps_per_epoch):
            start = step * SEQUENCE
            chunk = self.train[None, :, start : start + SEQUENCE + 1].expand(seeds, -1, -1)
            yield chunk[..., :-1], chunk[..., 1:]

    def carried(self, model: nn.Module, seeds: int) -> Tensor:
        """Every seed's hidden state, [S, layers, 2, streams, hidden]: zeros at the start of an epoch."""
        if self.state is None:
            return model.initial_state(self.batch_size, self.device).expand(seeds, -1, -1, -1, -1)
        return self.state

    def loss(self, model: nn.Module, weights: dict[str, Tensor], batch: tuple[Tensor, Tensor], carry: Tensor) -> tuple[Tensor, Tensor]:
        """Mean NLL per character of one seed's chunk, and the state it carries to the next chunk."""
        inputs, targets = batch
        out, state = call(model, weights, inputs, carry)
        return F.nll_loss(out.reshape(-1, out.shape[-1]), targets.reshape(-1)), state

    def carry_on(self, carry: Tensor) -> None:
        self.state = carry.detach()  # cut from the graph: backpropagation is truncated at the chunk boundary

    def evaluate(self, model: nn.Module, weights: dict[str, Tensor]) -> float:
        """exp(mean NLL per character) over the test streams, read in chunks with carried state."""
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        length = self.test.shape[1] - 1
        state = model.initial_state(self.test.shape[0], self.device)
        with torch.no_grad():
            for start in range(0, length, SEQUENCE):
                stop = min(start + SEQUENCE, length)
                out, state = call(model, weights, self.test[:, start:stop], state)
                total += F.nll_loss(out.reshape(-1, out.shape[-1]), self.test[:, start + 1 : stop + 1].reshape(-1), reduction="sum").double()
        mean = total.item() / (length * self.test.shape[0])
        # a diverged model predicts nothing: score it as the uniform guess, as a diverged classifier scores chance
        return math.exp(min(mean, 700.0)) if math.isfinite(mean) else float(self.vocab_size)
