"""The benchmarks, one record each: the model, its data, how it trains and how much of it each profile uses.

Everything the toolkit knows about a model is in its ``Benchmark`` entry: adding one is an entry in
``BENCHMARKS`` plus its module (``training.core.models``) and its data loader (``training.data``). The run
config, the tasks, the runners, the studies, the estimate and the plan read these records and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from training.core.models import HDMLP, MLP, CharLSTM, HDLogReg, ResNet20
from training.core.tasks import SEQUENCE, ImageTask, Task, TextTask, image_steps, text_steps
from training.data import Split
from training.data.cifar import load_cifar10
from training.data.mnist import load_mnist
from training.data.text import load_war_and_peace

Size = tuple[int | None, int | None]  # (training, test) examples a profile uses; None = all
SYNTHETIC_VOCAB = 83  # War and Peace's character set (the char-LSTM's output size)
WHOLE_MNIST = {"smoke": (2048, 1000), "cpu": (None, None), "paper": (None, None)}  # every profile but smoke: all of MNIST
NORMALISED = {"choice.normalisation": "(x - 0.1307) / 0.3081, torchvision's MNIST statistics"}  # [H]'s models


def random_mnist(size: int, generator: torch.Generator) -> Split:
    return Split(torch.rand(size, 784, generator=generator), torch.randint(10, (size,), generator=generator))


def random_cifar(size: int, generator: torch.Generator) -> Split:
    return Split(torch.randint(256, (size, 3, 32, 32), generator=generator, dtype=torch.uint8), torch.randint(10, (size,), generator=generator))


def random_text(size: int, generator: torch.Generator) -> Split:
    text = torch.randint(SYNTHETIC_VOCAB, (size,), generator=generator)
    return Split(text, text, vocab="x" * SYNTHETIC_VOCAB)


@dataclass(frozen=True)
class Benchmark:
    """One model on its data: ``sizes`` by profile (images, or characters of text), ``choices`` what the papers
    leave unstated and we fill (logged as params with every run)."""

    name: str
    module: Callable[..., nn.Module]
    load: Callable[..., tuple[Split, Split]]  # (data_dir=None) -> (train, test), checked
    synthetic: Callable[[int, torch.Generator], Split]  # random data of its shapes, for timing a step without the data
    batch_size: int
    sizes: Mapping[str, Size]
    full_size: tuple[int, int]  # the whole training and test sets
    data_units: str  # what a size counts, in words
    reach: str  # a verdict on this benchmark alone, in words
    text: bool = False  # a character stream read in chunks (TextTask); else images (ImageTask)
    augment: bool = False  # He et al.'s crop and flip on the training images
    cpu_batched: bool = False  # several seeds in one pass pay off on a CPU (small models)
    epochs: int | None = None  # the paper's epochs for every stack; None: by the weight level's optimizer (a paper's counts, training.core.config.default_epochs)
    choices: Mapping[str, str] = field(default_factory=dict)

    @property
    def metric(self) -> str:
        """The name of its test metric."""
        return TextTask.metric if self.text else ImageTask.metric

    def steps_per_epoch(self, n_train: int, batch_size: int) -> int:
        """Optimizer steps in one pass over ``n_train`` examples (characters, for text)."""
        return text_steps(n_train, batch_size) if self.text else image_steps(n_train, batch_size)

    def task(self, train: Split, test: Split, batch_size: int, device: torch.device) -> Task:
        """The task the training loop asks for batches, losses and the test metric."""
        return TextTask(train, test, batch_size, device) if self.text else ImageTask(train, test, batch_size, device, augment=self.augment)


BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    Benchmark("mlp", MLP, load_mnist, random_mnist, 256, WHOLE_MNIST, (60_000, 10_000),
              "MNIST images", "MLP only", cpu_batched=True),
    Benchmark("resnet20", ResNet20, load_cifar10, random_cifar, 128, {"smoke": (128, 100), "cpu": (2_560, 1_000), "paper": (None, None)}, (50_000, 10_000),
              "CIFAR-10 images", "ResNet-20 only", augment=True, epochs=200, choices={
                  "choice.augmentation": "He et al.: 4-pixel zero pad, random 32x32 crop, horizontal flip (p=0.5)",
                  "choice.normalisation": "per channel, CIFAR-10 mean (0.4914, 0.4822, 0.4465) and std (0.2470, 0.2435, 0.2616)",
                  "choice.init": "Kaiming-normal conv and linear weights; batch norm scale 1, shift 0",
                  "choice.weight_decay": "on every weight, batch norm included (the stack's wd)",
              }),
    # [H]'s MNIST models (papers/hd2018)
    Benchmark("hd_logreg", HDLogReg, load_mnist, random_mnist, 128, WHOLE_MNIST, (60_000, 10_000), "MNIST images", "logistic regression only",
              cpu_batched=True, epochs=10, choices=NORMALISED),
    # [HR]'s reproduction: the same model on the first 6,000 training and 1,000 test images, at every profile but smoke
    Benchmark("hd_logreg_tenth", HDLogReg, load_mnist, random_mnist, 128, {"smoke": (2048, 1000), "cpu": (6000, 1000), "paper": (6000, 1000)},
              (60_000, 10_000), "MNIST images", "logistic regression on 10% of MNIST only", cpu_batched=True, epochs=50, choices=NORMALISED),
    Benchmark("hd_mlp", HDMLP, load_mnist, random_mnist, 128, WHOLE_MNIST, (60_000, 10_000), "MNIST images", "784-1000-1000-10 MLP only",
              epochs=100, choices=NORMALISED),
    # 50,000 steps = 44 passes of 1,152 steps over the training text
    Benchmark("charlstm", CharLSTM, load_war_and_peace, random_text, 50, {"smoke": (10_000, 5_000), "cpu": (375_000, 20_000), "paper": (None, None)},
              (2_882_467, 160_137), "characters of War and Peace", "char-LSTM only", text=True, epochs=44, choices={
                  "choice.sequence": f"{SEQUENCE} characters per chunk, hidden state carried between chunks (truncated BPTT)",
                  "choice.embedding": "64 (torch-rnn default), no dropout",
                  "choice.split": "90/5/5 train/validation/test by position in the text",
                  "choice.perplexity": "exp(mean NLL per test character), test text read as batch_size parallel streams; "
                                       "a model with non-finite loss scores the vocabulary size (a uniform guess)",
              }),
)}


def data_sizes(data: Split) -> dict[str, int]:
    """The model's constructor arguments that depend on its data (the LSTM's vocabulary)."""
    return {"vocab": len(data.vocab)} if data.vocab else {}


def build_model(name: str, seed: int, **sizes) -> nn.Module:
    """A freshly initialised model; the same seed gives the same weights.

    ``sizes``: constructor arguments that depend on the data (the LSTM's vocabulary).
    """
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return BENCHMARKS[name].module(**sizes)
    finally:
        torch.random.set_rng_state(generator_state)


def load_dataset(model: str, data_dir: Path | str | None = None) -> tuple[Split, Split]:
    """(train, test) for a model's benchmark."""
    return BENCHMARKS[model].load(data_dir)
