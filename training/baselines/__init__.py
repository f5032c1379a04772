"""Learning-rate-free optimizers from their packages, run as the weight level of a stack (see ``packaged``)."""

from training.baselines.packaged import PACKAGED, MissingPackage, PackageStack

__all__ = ["PACKAGED", "MissingPackage", "PackageStack"]
