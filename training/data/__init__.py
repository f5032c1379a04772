"""The benchmarks' datasets, offline and checked: MNIST, CIFAR-10, War and Peace.

Each loader lives in its own module over the shared file checks of ``files``; a
benchmark's record (``training.core.benchmark``) names its loader.
"""

from training.data.files import DATA_ENV, REPOSITORY_DATA, DataError, Split, default_data_dir

__all__ = ["DATA_ENV", "REPOSITORY_DATA", "DataError", "Split", "default_data_dir"]
