"""The benchmarks' datasets, offline and checked: MNIST, CIFAR-10, War and Peace.

``load_dataset(model)`` gives a model's (train, test) splits; each loader lives in
its own module over the shared file checks of ``files``.
"""

from collections.abc import Callable
from pathlib import Path

from training.data.cifar import load_cifar10
from training.data.files import DATA_ENV, REPOSITORY_DATA, DataError, Split, default_data_dir
from training.data.mnist import load_mnist
from training.data.text import load_war_and_peace

LOADERS: dict[str, Callable[..., tuple[Split, Split]]] = {"mlp": load_mnist, "resnet20": load_cifar10, "charlstm": load_war_and_peace}


def load_dataset(model: str, data_dir: Path | str | None = None) -> tuple[Split, Split]:
    """(train, test) for a model's benchmark: MNIST, CIFAR-10 or War and Peace."""
    return LOADERS[model](data_dir)


__all__ = ["DATA_ENV", "LOADERS", "REPOSITORY_DATA", "DataError", "Split", "default_data_dir", "load_dataset"]
