"""The claims of families A, D and E (but E1): stated here with their sources, none decided by a study of ours yet (each names
the study that would serve it, and ``studies.NOT_TRAINED`` says why there is none)."""

from __future__ import annotations

from claims.scope import Minimum
from claims.verdict import Claim
from papers.hd2018.declared import DECLARED, never_trained
from papers.hd2018.studies import CODE_CHECK, COST, GRID, HR_OTHERS, ZERO_STEP


def undecided(claim_id: str, source: str, statement: str, published: str, study: str, hypothesis: str) -> Claim:
    return Claim(claim_id, claim_id[0], source, statement, published, (study,), hypothesis, never_trained, history=(DECLARED,),
                 minimum=Minimum((), "no study of ours serves it yet", declared=False))


CLAIMS: list[Claim] = [
    undecided("A1", "[H] hypergrad/*.py", "beta = 0 reproduces SGD, SGDN and Adam exactly", "(code)", ZERO_STEP,
              "final losses identical to the base's, seed by seed"),
    undecided("A2", "[H] hypergrad/sgd_hd.py; logreg CSV", "Our sgd / sgd(kappa) matches [H]'s SGD-HD step by step; the first step "
              "leaves alpha at alpha_0", "[H] logreg CSV: 0.001, then 0.0135", CODE_CHECK, "alpha and weights equal to [H]'s at every step"),
    undecided("A3", "[H] CSVs; [HR] logreg", "HD costs one dot product and one parameter-sized buffer per step",
              "[H] step-time overhead -1.0..+5.3%; [HR] median +3.8..+6.6% (CPU)", COST, "step-time overhead below a stated bound"),
    undecided("D1", "[H] poster, logreg grid", "HD is at least as fast as its base at the same alpha_0 in most grid cells",
              "32/36 (SGD-HD), 31/36 (SGDN-HD), 23/36 (Adam-HD)", GRID, "share of cells where HD reaches the threshold no later"),
    undecided("D2", "[H] poster, logreg grid", "HD flattens the dependence on alpha_0", "SGD 33..178,298 iterations; SGD-HD 33..208",
              GRID, "spread of log final loss over alpha_0, HD below base"),
    undecided("D3", "[H] poster, logreg grid", "For alpha_0 <= 1e-3 SGD-HD's result does not depend on alpha_0",
              "same count in all four rows per beta", GRID, "TOST across alpha_0"),
    undecided("D4", "[H] poster sweep", "At beta = 1e-4 HD ends at or below its base for every alpha_0 (logreg and MLP, 50 epochs)",
              "figure only", GRID, "paired per alpha_0"),
    undecided("D5", "[H] README; poster", "alpha_0 = 0 works: alpha turns positive in the first epoch", "(statement)", ZERO_STEP,
              "loss well below ln 10 every seed"),
    undecided("D6", "[H] poster, logreg grid", "beta -> 0 recovers the base", "1,452 vs 2,657 at alpha_0 1e-3, beta 1e-6", GRID,
              "HD - base gap shrinks with beta (trend test)"),
    undecided("E2", "[HR] hdr_grid_summary.csv", "MLP: Adam-HD diverges at every beta >= 1e-5", "NaN in 31/36 cells", HR_OTHERS,
              "share of diverging seeds per beta"),
    undecided("E3", "[HR] hdr_grid_runs.csv", "CNN on MNIST: 46/108 HD runs diverge, 40% of the rest end worse", "46/108; 25/62",
              HR_OTHERS, "shares of seeds"),
    undecided("E4", "[H] poster vs [HR]", "Adam-HD at beta 1e-4 trains the MLP ([H]) or diverges ([HR])", "conflict", HR_OTHERS,
              "share of diverged seeds at beta 1e-4"),
]
