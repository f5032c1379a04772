"""[H]'s tuning example as studies: each base optimizer and its HD version from alpha_0 = 1e-3, batch 128,
L2 decay 1e-4 on every method (run.sh and train.py's defaults), on logistic regression and the 784-1000-1000-10
MLP, both on the whole of MNIST.

One departure, declared here and in every run's stack: [H]'s hypergradient h_t = g_t . d_{t-1} includes the
decay in g_t, ours is taken of the loss alone (``DECAY_IN_HYPERGRADIENT``). SGDN is our ``sgd_nesterov`` (torch's
Nesterov momentum, mu 0.9), SGDN-HD that under an sgd level; both joined the studies on 2026-12-04, after the others
had run (``family_b.SGDN_TRAINED``).
"""

from __future__ import annotations

from training.core.config import Profile
from training.hyper.stackspec import format_number
from training.studies.base import Cell, PerProfile, Study

LOGREG, MLP = "hd2018_logreg", "hd2018_mlp"  # study (experiment) names
SGD, SGD_HD, SGDN, SGDN_HD, ADAM, ADAM_HD = "SGD", "SGD-HD", "SGDN", "SGDN-HD", "Adam", "Adam-HD"  # cell labels
ALPHA_0, DECAY = 1e-3, 1e-4
BETAS = {SGD_HD: 1e-3, SGDN_HD: 1e-3, ADAM_HD: 1e-7}  # run.sh: beta of SGD-HD, SGDN-HD and Adam-HD on both MNIST tasks
HR_LOGREG = "hd2018_hr_logreg"  # [HR]'s grid on logistic regression
VGG, GRID, HR_OTHERS = "hd2018_vgg", "hd2018_grid", "hd2018_hr_mlp_cnn"
ZERO_STEP, CODE_CHECK, COST = "hd2018_zero_step", "hd2018_code_check", "hd2018_cost"
PAPER_EPOCHS = {LOGREG: 10, MLP: 100, VGG: 100, HR_LOGREG: 50}  # run.sh; [HR]: 50 for logreg
HR_TRAIN = 6000  # [HR]: the first 6,000 training (and 1,000 test) images of MNIST
EPOCHS = {LOGREG: PerProfile(smoke=1, cpu=10, paper=10), MLP: PerProfile(smoke=1, cpu=5, paper=100), HR_LOGREG: PerProfile(smoke=1, cpu=50, paper=50)}
MODELS = {LOGREG: "hd_logreg", MLP: "hd_mlp", HR_LOGREG: "hd_logreg_tenth"}
HR_STEPS = PerProfile(smoke=(1e-3, 1e-2), cpu=(1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6), paper=(1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6))  # alpha_0 and beta
HR_SEEDS = PerProfile(smoke=2, cpu=8, paper=8)
SEEDS = PerProfile(smoke=2, cpu=10, paper=10)
DECAY_IN_HYPERGRADIENT = ("[H]'s SGD-HD and Adam-HD take the hypergradient of the decayed gradient (g_t includes 1e-4 theta); ours of "
                          "the loss's gradient alone: the weights decay identically, the learned alpha sees no decay term")


def base_level(optimizer: str, alpha: float = ALPHA_0) -> str:
    return f"{optimizer}(alpha={format_number(alpha)}, wd={format_number(DECAY)})"


def grid_label(cell: str, alpha: float, beta: float | None = None) -> str:
    """A cell of [HR]'s grid: 'SGD a=0.001', 'SGD-HD a=0.001 b=1e-05'."""
    return f"{cell} a={format_number(alpha)}" + ("" if beta is None else f" b={format_number(beta)}")


def hd_level(optimizer: str, beta: float, alpha: float = ALPHA_0) -> str:
    """The HD version of ``base_level(optimizer, alpha)``: an sgd level of step size beta learns its alpha."""
    return f"{base_level(optimizer, alpha)} / sgd(alpha={format_number(beta)})"


# sgd_nesterov's mu is its default 0.9, run.sh's; Adam with its betas fixed is the same rule as Adam-HD's weight level
BASE_OPTIMIZERS = {SGD: "sgd", SGDN: "sgd_nesterov", ADAM: "adam_alpha"}
PAIRS = ((SGD_HD, SGD), (SGDN_HD, SGDN), (ADAM_HD, ADAM))  # (HD, its base)
STACKS = {label: stack for hd, base in PAIRS for label, stack in ((base, base_level(BASE_OPTIMIZERS[base])),
                                                                   (hd, hd_level(BASE_OPTIMIZERS[base], BETAS[hd])))}


def tuning(name: str, claims: tuple[str, ...]) -> callable:
    def build(profile: Profile) -> Study:
        """[H]'s tuning example: SGD, SGDN, Adam and their HD versions from alpha_0 = 1e-3, every seed."""
        cells = tuple(Cell(label, stack, EPOCHS[name].at(profile), batch_size=128, model=MODELS[name]) for label, stack in STACKS.items())
        return Study(name, claims, cells, SEEDS.at(profile), notes=(DECAY_IN_HYPERGRADIENT,))
    return build


def hr_grid(profile: Profile) -> Study:
    """[HR]'s grid on logistic regression: every alpha_0 with SGD, SGDN and Adam, and with their HD versions at every beta."""
    steps, epochs, model = HR_STEPS.at(profile), EPOCHS[HR_LOGREG].at(profile), MODELS[HR_LOGREG]
    cells = []
    for alpha in steps:
        for hd, base in PAIRS:
            optimizer = BASE_OPTIMIZERS[base]
            cells.append(Cell(grid_label(base, alpha), base_level(optimizer, alpha), epochs, batch_size=128, model=model))
            cells += [Cell(grid_label(hd, alpha, beta), hd_level(optimizer, beta, alpha), epochs, batch_size=128, model=model)
                      for beta in steps]
    return Study(HR_LOGREG, ("E1",), tuple(cells), HR_SEEDS.at(profile), notes=(DECAY_IN_HYPERGRADIENT,))


STUDIES = {LOGREG: tuning(LOGREG, ("B1", "B2", "B3", "C1", "C2", "C3")), MLP: tuning(MLP, ("B1", "B2", "B3", "C1", "C2", "C3")), HR_LOGREG: hr_grid}
NOT_TRAINED = {  # studies its claims name that no profile trains here, and why
    VGG: "VGG-16 on CIFAR-10 for 100 epochs is beyond this machine, and no stand-in for it is declared yet",
    GRID: "the poster's alpha_0 x beta grid counts iterations to a loss threshold that is not in what we read",
    HR_OTHERS: "[HR]'s grids on the MLP and the CNN (6 x 6 cells x 6 methods, 100 epochs each) are beyond this machine's time",
    ZERO_STEP: "a step size of 0 (beta or alpha_0) is outside our stack grammar: every level's step size is positive",
    CODE_CHECK: "a check of the code, not of runs: tests/hyper/test_hypergradient_descent.py runs [H]'s SGD-HD and our sgd / sgd "
                "side by side and compares alpha and the weights step by step",
    COST: "HD's step time against its base's is not measured here yet (benchmarks/ time our stacks, not [H]'s pairs)",
}


def build(name: str, profile: Profile) -> Study:
    return STUDIES[name](profile)
