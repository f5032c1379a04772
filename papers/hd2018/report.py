"""The words the hd2018 report opens with: what [H] claims, what we read of it, and what a profile's runs can speak to."""

from __future__ import annotations

from papers.hd2018.studies import DECAY_IN_HYPERGRADIENT, EPOCHS, HR_LOGREG, HR_SEEDS, HR_STEPS, HR_TRAIN, LOGREG, MLP, PAPER_EPOCHS, SEEDS
from training.core.config import Profile

TITLE = "Hypergradient descent (Baydin et al., ICLR 2018) on trial"


def about(profile: Profile) -> list[str]:
    """Paragraphs under the title for a report of ``profile``'s runs."""
    logreg, mlp = EPOCHS[LOGREG].at(profile), EPOCHS[MLP].at(profile)
    reach = (f"logistic regression on the whole of MNIST for {logreg} epochs ({'its' if logreg == PAPER_EPOCHS[LOGREG] else 'below its'} "
             f"minimum protocol of {PAPER_EPOCHS[LOGREG]}), the 784-1000-1000-10 MLP for {mlp} of {PAPER_EPOCHS[MLP]} epochs")
    return [
        "[H] Baydin, Cornish, Martínez Rubio, Schmidt, Wood, \"Online Learning Rate Adaptation with Hypergradient Descent\" "
        "(ICLR 2018), as far as it could be read: the authors' code, run.sh, result CSVs (one run each) and poster; the paper's body "
        "was not available. [HR]: the COMP6248 reproduction (2019). Claims restated in ../shared/papers/hd2018/CLAIMS.md.",
        f"Profile `{profile}`: SGD, SGDN (Nesterov momentum 0.9), Adam and their HD versions from alpha_0 = 1e-3 (batch 128, L2 decay "
        f"1e-4, beta 1e-3 for SGD-HD and SGDN-HD and 1e-7 for Adam-HD, as run.sh), {SEEDS.at(profile)} seeds each, on {reach}. SGD-HD is "
        "our `sgd / sgd`, SGDN-HD our `sgd_nesterov / sgd` (torch's Nesterov momentum), Adam-HD our `adam_alpha / sgd`, in [H]'s update "
        "order (tests/hyper/test_hypergradient_descent.py). SGDN and SGDN-HD joined the studies after the others had run (B2's and "
        "E1's histories).",
        f"[HR]'s grid on logistic regression (E1): every alpha_0 and beta of {len(HR_STEPS.at(profile))} values each, SGD, SGDN and Adam at every "
        f"alpha_0, SGD-HD, SGDN-HD and Adam-HD in every cell, {EPOCHS[HR_LOGREG].at(profile)} epochs on the first {HR_TRAIN:,} MNIST images "
        f"(at smoke: a slice of 2,048), {HR_SEEDS.at(profile)} seeds each.",
        f"Departures, declared before any run: {DECAY_IN_HYPERGRADIENT}. Our runs log the training loss and the test error, not a "
        "validation loss: family B is decided on the training loss alone, and says so wherever its verdicts appear. Not trained here, "
        "so not decided: VGG-16 on CIFAR-10, the poster's grid (its loss threshold is unknown) and [HR]'s MLP and CNN grids.",
    ]
