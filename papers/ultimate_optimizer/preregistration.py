"""The pre-registration log's shared entries: when the catalogue was declared, and the changes many claims share.

Each claim's ``history`` (``claims.verdict.Change``) starts with its declaration
and lists, dated, every later change to its hypothesis, statistic, margin, runs
or wording, with whether runs of it existed at the time. The report prints the
log in each claim's section and flags a claim whose test changed after its runs
existed.
"""

from __future__ import annotations

from claims.verdict import Change

DECLARED = Change("2026-11-27", "first declared (hypothesis, statistic, margins and runs as in the first catalogue)",
                  "the paper's and the reproduction's claims as tests over seeds", runs_existed=False, kind="declared")
DECLARED_LARGE = Change("2026-11-27", "first declared with the ResNet-20 and char-LSTM studies",
                        "the claims of [P] 3.3 and [R] 3.2-3.3 on the larger benchmarks", runs_existed=False, kind="declared")


def scope_declared(duration: bool) -> Change:
    """2026-11-30: every claim names its minimum protocol (CLAIMS.md); its verdict carries the scope."""
    below = ("; below it the claim is NOT_RUN (it is about duration, late training or how far values travel)" if duration
             else "; below it the verdict is labelled reduced, with the cuts in words")
    return Change("2026-11-30", "minimum protocol declared" + below,
                  "reduced-scale verdicts (1-3 of 5-30 epochs) were read as verdicts on the paper", runs_existed=True, kind="runs")


SEED_AS_UNIT = Change("2026-11-30", "the seed is the unit: a seed's cells are averaged before the test (was: seed x cell pairs pooled as if independent)",
                      "cells of one seed share its initialisation and data order; pooled pairs raise the false-SUPPORTED rate", runs_existed=True)
CPU_FULL_ADAM_PANELS = Change("2026-11-30", "the cpu profile trains the Adam and RMSProp panels (and their re-runs) for the published 5 epochs (was 1)",
                              "so that the claims on them are decided at their minimum protocol on the main job", runs_existed=True, kind="runs")
SEEDS_RAISED = Change("2026-11-30", "more seeds for the studies it reads (cpu: ResNet-20 grid and towers, char-LSTM towers 6; paper: MLP towers 8, "
                     "depth 6, ResNet-20 grid and towers 7, schedule study 8, char-LSTM grid 8 and towers 7)",
                     "so that an exact test over seeds can reach Holm's first threshold in the claim's family", runs_existed=True, kind="runs")
NOT_TRAINED_BELOW_MINIMUM = Change("2026-11-30", "its study is not trained at a profile where the claim would fall below its minimum protocol",
                                   "runs that can only give NOT_RUN cost time and say nothing", runs_existed=True, kind="runs")
SEEDS_FOR_PARTS = Change("2026-12-03", "more seeds where claims are now decided per benchmark or stack, each part counting in Holm's correction "
                         "(cpu: MLP towers, ResNet-20 grid and towers, char-LSTM towers 7; paper: ResNet-20 grid and towers, char-LSTM towers 8)",
                         "so that an exact test over seeds can reach Holm's first threshold in families B and C with their parts",
                         runs_existed=True, kind="runs")
