"""Family A: hyperoptimized beats fixed hyperparameters (MLP on MNIST, [P] Table 1, [R] 3.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims.evidence import Comparison, all_of, comparison, fmt_mean, paired, values
from claims.runs import RunTables
from claims.scope import Minimum, Requirement
from claims.stats import binomial_p, clopper_pearson, smallest_p_value
from claims.verdict import Change, Claim, Evidence, NotRun
from papers.ultimate_optimizer.preregistration import CPU_FULL_ADAM_PANELS, DECLARED, NOT_TRAINED_BELOW_MINIMUM, scope_declared
from papers.ultimate_optimizer.published import paper_table1, published
from papers.ultimate_optimizer.studies import labels
from papers.ultimate_optimizer.studies.labels import MLP_LONG as LONG
from papers.ultimate_optimizer.studies.labels import MLP_RERUNS as RERUNS
from papers.ultimate_optimizer.studies.labels import MLP_TABLE1 as TABLE1
from papers.ultimate_optimizer.studies.mlp import TABLE1_PANELS

A6_MARGIN = 0.5  # pp: "similar" final error; no tighter than [R]'s own gaps (Adam 2.26 vs 2.08, RMSProp 2.37 vs 1.95)
A5_MAJORITY = 0.5  # A5: the re-runs beat the baseline in more than this share of the configurations


PANEL_NAMES = {"sgd": "SGD", "adam": "Adam", "adagrad": "AdaGrad", "rmsprop": "RMSProp"}


def panel_minimum(panels: tuple[str, ...], epochs: int, duration: bool = False) -> Minimum:
    what = " and ".join(PANEL_NAMES[p] for p in panels) + (" panel" if len(panels) == 1 else " panels")
    return Minimum((Requirement(TABLE1, f"Table 1 {what}", epochs=epochs, cells=labels.in_panels(*panels)),), "[P] Table 1", duration)


def _published_gain(panel: str) -> float:
    """[P]'s weakest gain of a panel's stacks over its baseline, pp."""
    table = paper_table1(panel)
    return float(table[table.kind == "baseline"].test_error_mean_pct.iloc[0] - table[table.kind == "hyperopt"].test_error_mean_pct.max())


def _published_rerun_share() -> float:
    """Share of [P]'s Table 1 configurations whose re-run beat the panel's baseline."""
    table = published("paper_table1_mlp")
    base = table[table.kind == "baseline"].set_index("panel").test_error_mean_pct
    reruns = table[table.kind == "rerun_learned"]
    return float((reruns.test_error_mean_pct.to_numpy() < base.loc[reruns.panel].to_numpy()).mean())
ONE_SIDED = "exact one-sided paired sign-flip test over seeds on (baseline - stack) test error; every comparison must hold (intersection-union)"


def _beats_baseline(tables: RunTables, panel: str) -> list[Comparison]:
    base = values(tables, TABLE1, labels.baseline(panel))
    rows = []
    for i, stack in enumerate(TABLE1_PANELS[panel][1]):
        b, s = paired(base, values(tables, TABLE1, labels.stack(panel, i)))
        rows.append(comparison(stack, b - s, baseline_mean=float(np.mean(b)), stack_mean=float(np.mean(s))))
    return rows


def _published_panel(panel: str) -> str:
    table = paper_table1(panel)
    base = table[table.kind == "baseline"].test_error_mean_pct.iloc[0]
    hyper = table[table.kind == "hyperopt"].test_error_mean_pct
    return f"baseline {base:.2f}% vs stacks {hyper.min():.2f}..{hyper.max():.2f}% ([P] Table 1, 3 runs)"


def _panel_evidence(tables: RunTables, panel: str) -> Evidence:
    rows = _beats_baseline(tables, panel)
    ours = f"baseline {fmt_mean(values(tables, TABLE1, labels.baseline(panel)))}; stacks " + ", ".join(f"{r.extra['stack_mean']:.2f}%" for r in rows)
    return all_of(rows, ONE_SIDED, "baseline - stack error, pp", ours)


def evaluate_a1(tables: RunTables) -> Evidence:
    return _panel_evidence(tables, "sgd")


def evaluate_a2(tables: RunTables) -> Evidence:
    return _panel_evidence(tables, "adam")


def evaluate_a3(tables: RunTables) -> Evidence:
    return _panel_evidence(tables, "adagrad")


def evaluate_a4(tables: RunTables) -> Evidence:
    rows = _beats_baseline(tables, "rmsprop")
    for alpha_only, full in ((0, 1), (2, 3)):
        a, f = paired(values(tables, TABLE1, labels.stack("rmsprop", alpha_only)), values(tables, TABLE1, labels.stack("rmsprop", full)))
        rows.append(comparison(f"gamma tuned too: {TABLE1_PANELS['rmsprop'][1][full]} vs {TABLE1_PANELS['rmsprop'][1][alpha_only]}", a - f,
                               baseline_mean=float(np.mean(a)), stack_mean=float(np.mean(f))))
    ours = f"baseline {fmt_mean(values(tables, TABLE1, labels.baseline('rmsprop')))}; stacks " + ", ".join(f"{r.extra['stack_mean']:.2f}%" for r in rows[:4])
    return all_of(rows, ONE_SIDED + "; plus learning gamma beats learning alpha alone, for both hyperoptimizers", "error difference, pp", ours)


def evaluate_a5(tables: RunTables) -> Evidence:
    """Per seed: the share of Table 1's stacks whose plain re-run beats that seed's baseline; a stack with no valid
    re-run (its learned values left the optimizer's domain) counts as a failure, never dropped."""
    if not tables.has(RERUNS):
        raise NotRun("no re-runs: the Table 1 stacks have not finished, or every learned alpha left its domain")
    configurations = [(panel, i, stack) for panel, (_, stacks) in TABLE1_PANELS.items() for i, stack in enumerate(stacks)]
    wins: dict[int, list[float]] = {}
    margins: dict[int, list[float]] = {}
    missing = 0
    for panel, i, _ in configurations:
        base = values(tables, TABLE1, labels.baseline(panel))
        rerun = tables.cell(RERUNS, labels.rerun(panel, i))
        rerun = rerun.test_error.dropna().to_dict() if not rerun.empty else {}
        for seed, baseline_error in base.items():
            if seed in rerun:
                wins.setdefault(seed, []).append(float(rerun[seed] < baseline_error))
                margins.setdefault(seed, []).append(float(baseline_error - rerun[seed]))
            else:
                wins.setdefault(seed, []).append(0.0)
                missing += 1
    seeds = sorted(wins)
    share = np.array([np.mean(wins[seed]) for seed in seeds])
    row = comparison(f"share of the {len(configurations)} configurations whose re-run beats the baseline - {A5_MAJORITY}", share - A5_MAJORITY,
                     mean_share=float(share.mean()))
    mean_margin = np.mean([np.mean(margins[s]) for s in seeds if s in margins]) if margins else float("nan")
    notes = [f"{missing} (seed, stack) pair(s) have no valid re-run and count as failures"] if missing else []
    notes.append(f"beside it, not decided on: the mean over configurations of (baseline - re-run) error is {mean_margin:.2f} pp")
    return all_of([row], "one-sided sign-flip test over seeds of the per-seed share of configurations whose re-run beats the baseline, "
                  f"against {A5_MAJORITY} ('in most configurations')", "share of configurations - 1/2",
                  f"the re-runs beat the baseline in {share.mean():.0%} of the {len(configurations)} configurations (mean over seeds)", notes=notes)


def _epoch_error(tables: RunTables, label: str, epoch: int | None) -> pd.Series:
    rows = tables.cell(LONG, label)
    if rows.empty:
        raise NotRun(f"no finished runs of {LONG}/{label}")
    if epoch is None:
        return rows.test_error.dropna()
    return pd.Series({seed: tables.history(run_id, "test_error").get(epoch, np.nan) for seed, run_id in rows.run_id.items()}).dropna()


def evaluate_a6(tables: RunTables) -> Evidence:
    rows = []
    for panel in ("adam", "rmsprop"):
        b1, s1 = paired(_epoch_error(tables, labels.long_run(panel, "baseline"), 1), _epoch_error(tables, labels.long_run(panel, "stack"), 1))
        rows.append(comparison(f"{panel}: hyperoptimized ahead after epoch 1", b1 - s1))
        bE, sE = paired(_epoch_error(tables, labels.long_run(panel, "baseline"), None), _epoch_error(tables, labels.long_run(panel, "stack"), None))
        # claimed: the stack's final advantage (baseline - stack) stays below the margin
        rows.append(comparison(f"{panel}: {A6_MARGIN} pp - final (baseline - stack)", A6_MARGIN - (bE - sE)))
    epochs = int(tables.cell(LONG, labels.long_run("adam", "baseline")).epochs.iloc[0])
    return all_of(rows, f"early: one-sided sign-flip test of (baseline - stack) error after epoch 1 > 0; end (epoch {epochs}): "
                  f"one-sided non-superiority, (baseline - stack) < {A6_MARGIN} pp", "pp", f"trained {epochs} epochs")


def evaluate_a7(tables: RunTables) -> Evidence:
    rows = tables.cell(TABLE1, labels.stack("adam", 2))
    if rows.empty:
        raise NotRun("no adam/adam runs")
    diverged = rows.diverged.to_numpy(bool)
    n, k = len(diverged), int(diverged.sum())
    low, high = clopper_pearson(k, n)
    return Evidence(
        p_support=binomial_p(k, n, 0.5, "less"),
        p_refute=binomial_p(k, n, 0.5, "greater"),
        effect=k / n,
        ci=(low, high),
        effect_label="share of seeds that diverged (exact Clopper-Pearson interval)",
        ours=f"{k} of {n} seeds diverged; test error {fmt_mean(rows.test_error)}",
        n=n,
        test="exact binomial test of the divergence share against 1/2 (stable: share < 1/2; [R]'s divergence: share > 1/2)",
        diffs=0.5 - diverged.astype(float),
        min_p=smallest_p_value(n),
    )


A7_INTERVAL = Change("2026-12-03", "the share's interval is exact (Clopper-Pearson) instead of a bootstrap", "0 of 10 diverged printed [0, 0]",
                     runs_existed=True, kind="wording", protocol_runs_existed=True)


def _report_adam_adam() -> str:
    report = published("report_mlp_optimizers")
    row = report[(report.Optimizer == "Adam") & (report.Hyperoptimizer == "Adam")].iloc[0]
    return f"[P] 3.05% error, stable; [R] {row['Test Error']:.1f}% error, diverged (single seed)"


A6_MARGIN_CHANGE = Change("2026-11-30", f"'similar' margin 0.25 -> {A6_MARGIN} pp", "0.25 pp was tighter than [R]'s own RMSProp gap "
                          "(2.37% vs 1.95%): at the published numbers the claim came out REFUTED", runs_existed=True)
A5_SHARE_CHANGE = Change("2026-11-30", "every re-run must beat its baseline -> per seed, the share of configurations whose re-run beats it is "
                         "above 1/2; a stack with no valid re-run counts as a failure (was: left out)",
                         "[P]'s own adagrad(0.0080) re-run is worse than its baseline: 'every' contradicted the source", runs_existed=True)

CLAIMS = [
    Claim("A1", "A", "[P] Table 1a", "Every SGD stack ends with lower test error than sgd(0.01).", _published_panel("sgd"),
          (TABLE1,), "H1: error(baseline) - error(stack) > 0 for each of the 4 stacks", evaluate_a1, figure="table1",
          minimum=panel_minimum(("sgd",), 30), history=(DECLARED, scope_declared(False)), published_effect=_published_gain("sgd")),
    Claim("A2", "A", "[P] Table 1b", "Every Adam stack beats adam(0.001) at the same epoch budget.", _published_panel("adam"),
          (TABLE1,), "H1: error(baseline) - error(stack) > 0 for each of the 4 stacks", evaluate_a2, figure="table1",
          minimum=panel_minimum(("adam",), 5), history=(DECLARED, scope_declared(False), CPU_FULL_ADAM_PANELS), published_effect=_published_gain("adam")),
    Claim("A3", "A", "[P] Table 1c", "adagrad/sgd and adagrad/adagrad beat adagrad(0.01).", _published_panel("adagrad"),
          (TABLE1,), "H1: error(baseline) - error(stack) > 0 for both stacks", evaluate_a3, figure="table1",
          minimum=panel_minimum(("adagrad",), 30), history=(DECLARED, scope_declared(False)), published_effect=_published_gain("adagrad")),
    Claim("A4", "A", "[P] Table 1d", "The four RMSProp stacks beat rmsprop(0.01, 0.99); tuning gamma as well as alpha helps further.",
          _published_panel("rmsprop"), (TABLE1,), "H1: each stack beats the baseline, and rmsprop/X beats rmsprop_alpha/X for X in {sgd, rmsprop}",
          evaluate_a4, figure="table1", minimum=panel_minimum(("rmsprop",), 5), history=(DECLARED, scope_declared(False), CPU_FULL_ADAM_PANELS),
          published_effect=0.22),  # [P]: rmsprop/sgd 3.33% vs rmsprop_alpha/sgd 3.55%, the weakest of its comparisons
    Claim("A5", "A", "[P] 3.1-3.2, Table 1", "Re-running the plain optimizer from the learned hyperparameters beats the initial baseline in most configurations.",
          "re-run rows of Table 1: 13 of 14 beat their baseline (e.g. sgd(0.0769) 5.44% vs sgd(0.01) 8.99%; not adagrad(0.0080), 7.75% vs 7.40%)",
          (TABLE1, RERUNS), f"H1: per seed, the re-runs beat the baseline in more than {A5_MAJORITY:.0%} of the configurations", evaluate_a5, figure="table1",
          minimum=Minimum((Requirement(TABLE1, "Table 1 SGD and AdaGrad panels", epochs=30, cells=labels.in_panels("sgd", "adagrad")),
                           Requirement(TABLE1, "Table 1 Adam and RMSProp panels", epochs=5, cells=labels.in_panels("adam", "rmsprop")),
                           Requirement(RERUNS, "re-runs of the SGD and AdaGrad panels", epochs=30, cells=labels.in_panels("sgd", "adagrad")),
                           Requirement(RERUNS, "re-runs of the Adam and RMSProp panels", epochs=5, cells=labels.in_panels("adam", "rmsprop"))),
                          "[P] Table 1: re-runs from values learned at the published epochs"),
          history=(DECLARED, A5_SHARE_CHANGE, scope_declared(False), CPU_FULL_ADAM_PANELS), published_effect=_published_rerun_share() - A5_MAJORITY),
    Claim("A6", "A", "[R] 3.1", "Trained as long as SGD, the hyperoptimized runs converge faster early, but the baselines reach similar or better final error.",
          "[R], 30 epochs, single seed: Adam 2.26% vs Adam/SGD 2.08%, RMSProp 2.37% vs RMSProp/SGD 1.95%",
          (LONG,), f"H1: stack ahead after epoch 1, and the stack's final advantage < {A6_MARGIN} pp, for Adam and RMSProp", evaluate_a6, figure="long",
          minimum=Minimum((Requirement(LONG, "Adam and RMSProp trained as long as SGD", epochs=30),), "[R] 3.1", duration=True),
          history=(DECLARED, A6_MARGIN_CHANGE, scope_declared(True), NOT_TRAINED_BELOW_MINIMUM)),
    Claim("A7", "A", "[P] Table 1b vs [R] 3.1", "adam/adam trains stably (the reproduction reports that it diverged).", _report_adam_adam(),
          (TABLE1,), "H1: fewer than half of the seeds diverge", evaluate_a7, minimum=panel_minimum(("adam",), 5, duration=True),
          history=(DECLARED, scope_declared(True), A7_INTERVAL, CPU_FULL_ADAM_PANELS), published_effect=0.5),
]
