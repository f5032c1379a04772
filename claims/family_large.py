"""The claims on ResNet-20 / CIFAR-10 and the char-LSTM / War and Peace: B2, B4, B7, C1, C4.

Each evaluation reads the runs of one study in ``training.large_studies`` and
returns Evidence for the family's Holm correction. Where a claim is about a
whole grid, seeds x cells are pooled into one paired sign-flip test (a
statement about the grid on average), with the per-cell comparisons in the
claim's table; deciding every cell on its own needs many more seeds than a
CPU run can afford. Margins are fixed here, before any run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.runs import RunTables
from claims.evidence import all_of, comparison, paired, published, values
from claims.stats import page_trend, sign_flip_test, tost_equivalence
from claims.verdict import Evidence, NotRun
from training.large_studies import LSTM_ALPHAS, RESNET_ALPHAS, RESNET_MUS

GRID, SCHEDULE, LSTM = "resnet_grid", "resnet_schedule", "charlstm_grid"
NONINFERIORITY_PP = 1.0  # C1, B2: "matches" = no worse than the baseline by more than this many points of error
BAD_BASELINE_PCT = 25.0  # C1: cells where [P]'s own baseline erred above this are "bad settings" (Fig. 2a)
EXPERT_RATIO = 1.05  # C4: "comparable" = perplexities within 5% of each other
OSCILLATION_FLOOR = 0.2  # B7: share of direction changes of alpha late in training above which it "keeps oscillating"
PERPLEXITY_ROLES = {1e-4: "too low", 2e-3: "expert", 1e-2: "too high"}


def grid_label(kind: str, alpha: float, mu: float) -> str:
    return f"grid:{kind}:a{alpha:g}:m{mu:g}"


def bad_cells() -> list[tuple[float, float]]:
    """Grid cells whose baseline [P] found bad (Fig. 2a, read off the figure): declared by the paper, not by our runs."""
    table = published("paper_resnet20_grid_APPROX")
    bad = table[table.baseline_test_error_pct > BAD_BASELINE_PCT]
    return [(float(a), float(m)) for a, m in zip(bad.alpha_init, bad.mu_init)]


def grid_differences(tables: RunTables) -> dict[tuple[float, float], np.ndarray]:
    """Per cell: baseline error - hyperoptimized error over common seeds (positive = hyperoptimizer better)."""
    out = {}
    for alpha in RESNET_ALPHAS:
        for mu in RESNET_MUS:
            base, hyper = paired(values(tables, GRID, grid_label("baseline", alpha, mu)), values(tables, GRID, grid_label("hyper", alpha, mu)))
            out[(alpha, mu)] = base - hyper
    return out


def evaluate_c1(tables: RunTables) -> Evidence:
    diffs = grid_differences(tables)
    pooled = np.concatenate(list(diffs.values()))
    bad = np.concatenate([diffs[cell] for cell in bad_cells()])
    rows = [
        comparison(f"all 9 cells pooled: baseline - hyper + {NONINFERIORITY_PP} pp", pooled + NONINFERIORITY_PP),
        comparison(f"cells where [P]'s baseline erred > {BAD_BASELINE_PCT:.0f}% ({', '.join(f'{a:g}/{m:g}' for a, m in bad_cells())}): baseline - hyper", bad),
    ]
    table = [{"alpha": a, "mu": m, "mean_baseline_minus_hyper_pp": float(d.mean()), "n": len(d)} for (a, m), d in diffs.items()]
    evidence = all_of(rows, "paired sign-flip tests over seeds x cells (intersection-union): the hyperoptimizer is no worse than the baseline "
                      f"by more than {NONINFERIORITY_PP} pp over the grid, and better in [P]'s bad cells", "pp",
                      f"baseline - hyper, mean over the grid {pooled.mean():.2f} pp, in the bad cells {bad.mean():.2f} pp")
    evidence.table += table
    evidence.unit = "seed x cell pairs"
    return evidence


def final_mu_reduction(tables: RunTables) -> np.ndarray:
    """mu_init - learned mu of the hyperoptimized grid runs, shape [seeds x mus, alphas] (blocks x ordered treatments)."""
    blocks = []
    for mu in RESNET_MUS:
        columns = [values(tables, GRID, grid_label("hyper", alpha, mu), "hp.0.mu") for alpha in RESNET_ALPHAS]
        frame = pd.concat(columns, axis=1).dropna()
        blocks.append(mu - frame.to_numpy(float))
    return np.concatenate(blocks)


def evaluate_b4(tables: RunTables) -> Evidence:
    blocks = final_mu_reduction(tables)
    if len(blocks) < 2:
        raise NotRun("B4 needs at least two (seed, mu) blocks of finished hyperoptimized runs")
    largest_minus_smallest = blocks[:, -1] - blocks[:, 0]
    row = comparison(f"mu reduction at alpha {RESNET_ALPHAS[-1]:g} - at {RESNET_ALPHAS[0]:g}", largest_minus_smallest)
    means = blocks.mean(axis=0)
    return Evidence(
        p_support=page_trend(blocks, increasing=True), p_refute=page_trend(blocks, increasing=False),
        effect=row["mean_diff"], ci=(row["ci_low"], row["ci_high"]), effect_label=row["comparison"],
        ours="mean mu_init - learned mu by alpha_init: " + ", ".join(f"{a:g}: {m:.2e}" for a, m in zip(RESNET_ALPHAS, means)),
        n=len(blocks), test="Page's L trend test, blocks = (seed, mu_init), that the reduction of mu grows with alpha_init 0.01 < 0.1 < 1",
        diffs=largest_minus_smallest, table=[{"alpha_init": a, "mean_mu_reduction": float(m)} for a, m in zip(RESNET_ALPHAS, means)],
    )


def evaluate_b2(tables: RunTables) -> Evidence:
    he, hyper = paired(values(tables, SCHEDULE, "schedule:he"), values(tables, SCHEDULE, "schedule:hyper"))
    learned = values(tables, SCHEDULE, "schedule:hyper", "hp.0.alpha")
    if (learned <= 0).any():
        decay = np.full(len(learned), -np.inf)  # a step size driven through zero did not decay like a schedule
    else:
        decay = np.log(0.1 / learned.to_numpy(float))
    rows = [
        comparison("log(0.1 / learned alpha at the end)", decay),
        comparison(f"He schedule error - hyper error + {NONINFERIORITY_PP} pp", he - hyper + NONINFERIORITY_PP),
    ]
    return all_of(rows, "one-sided sign-flip tests over seeds (intersection-union): the learned alpha ends below its start, and the final error "
                  f"is no worse than He et al.'s step schedule by more than {NONINFERIORITY_PP} pp", "see table",
                  f"learned alpha at the end {np.median(learned):.3g} (median); error: He schedule {he.mean():.2f}%, hyper {hyper.mean():.2f}%")


def lstm_label(kind: str, alpha: float) -> str:
    return f"lstm:{kind}:a{alpha:g}"


def evaluate_c4(tables: RunTables) -> Evidence:
    ratios = {}
    for alpha in LSTM_ALPHAS:
        base, hyper = paired(values(tables, LSTM, lstm_label("baseline", alpha), "test_perplexity"),
                             values(tables, LSTM, lstm_label("hyper", alpha), "test_perplexity"))
        ratios[alpha] = np.log(base / hyper)  # positive = the hyperoptimizer predicts better
    low, expert, high = (ratios[a] for a in LSTM_ALPHAS)
    margin = np.log(EXPERT_RATIO)
    p_equivalent = tost_equivalence(expert, margin)
    rows = [comparison(f"{PERPLEXITY_ROLES[a]} alpha {a:g}: log(baseline / hyper perplexity)", ratios[a]) for a in (LSTM_ALPHAS[0], LSTM_ALPHAS[2])]
    improved = all_of(rows, "", "log perplexity ratio", "")
    expert_row = comparison(f"expert alpha {LSTM_ALPHAS[1]:g}: log(baseline / hyper perplexity), equivalence within log {EXPERT_RATIO}", expert)
    # refuted at the expert alpha if the two differ by more than the margin, either way
    p_different = min(1.0, 2 * min(sign_flip_test(expert, "greater", margin), sign_flip_test(expert, "less", -margin)))
    means = {PERPLEXITY_ROLES[a]: float(np.exp(r.mean())) for a, r in ratios.items()}
    return Evidence(
        p_support=max(improved.p_support, p_equivalent), p_refute=min(1.0, 2 * min(improved.p_refute, p_different)),
        effect=improved.effect, ci=improved.ci, effect_label=improved.effect_label,
        ours="baseline / hyper perplexity (geometric mean over seeds): " + ", ".join(f"{k} {v:.3f}" for k, v in means.items()),
        n=min(len(low), len(expert), len(high)),
        test=f"one-sided sign-flip tests that the hyperoptimizer lowers perplexity at alpha {LSTM_ALPHAS[0]:g} and {LSTM_ALPHAS[2]:g}, and TOST that at the expert "
             f"alpha {LSTM_ALPHAS[1]:g} the two are within a factor {EXPERT_RATIO} (intersection-union)",
        diffs=improved.diffs, table=improved.table + [{k: v for k, v in expert_row.items() if not k.startswith("_")} | {"p_equivalent": p_equivalent}],
    )


MIN_LATE_MOVES = 3


def late_oscillation(path: np.ndarray) -> float:
    """Share of direction changes among successive moves of a trajectory's second half, in [0, 1].

    NaN when the second half has fewer than MIN_LATE_MOVES non-zero moves (too short to say).
    """
    moves = np.diff(path[len(path) // 2 :])
    moves = moves[moves != 0]
    if len(moves) < MIN_LATE_MOVES:
        return float("nan")
    return float(np.mean(np.sign(moves[1:]) != np.sign(moves[:-1])))


def evaluate_b7(tables: RunTables) -> Evidence:
    scores, negative, runs = [], 0, 0
    for alpha in LSTM_ALPHAS:
        cell = tables.cell(LSTM, lstm_label("hyper", alpha))
        for run_id in cell[~cell.diverged].run_id:
            path = tables.history(run_id, "hp.0.alpha").to_numpy(float)
            share = late_oscillation(path)
            if np.isnan(share):
                continue
            scores.append(share - OSCILLATION_FLOOR)
            negative += bool((path < 0).any())
            runs += 1
    if not runs:
        raise NotRun(f"no hyperoptimized char-LSTM run with {MIN_LATE_MOVES}+ sampled moves of alpha in its second half")
    row = comparison(f"share of direction changes of alpha in the second half - {OSCILLATION_FLOOR}", np.array(scores))
    return all_of([row], f"one-sided sign-flip test over runs (seeds x initial alphas) that alpha changes direction in more than {OSCILLATION_FLOOR:.0%} "
                  "of its sampled moves in the second half of training", "share",
                  f"mean share {np.mean(scores) + OSCILLATION_FLOOR:.2f}; alpha went negative in {negative} of {runs} runs")
