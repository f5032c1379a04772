#!/usr/bin/env bash
# Trains and publishes results/cpu-beyond: our claims beyond the paper (F1-F3, D3, D4) at the cpu profile.
# Resumable: the store lives in an ignored folder of the work tree (.store/cpu-beyond), and every sweep skips the runs it
# already holds. The step-time study runs last and alone: its ratios are only worth what the machine's quiet is.
set -euo pipefail
source "$(dirname "$0")/../store.sh" cpu-beyond
run() { job --profile cpu --beyond "$@"; }
run --studies mlp_lrfree,mlp_tall,mlp_top                     # F1, F2 on the MLP; D3, D4
run --benchmarks mlp,resnet20 --studies resnet_lrfree         # F1, F2 on ResNet-20
run --studies mlp_lrfree_cost                                 # F3, on a quiet machine
run --no-sweep --publish "$ROOT/results/cpu-beyond"
