#!/usr/bin/env bash
# Trains and publishes results/paper-mlp: every MLP study at the paper's protocol, in the order the claims need them.
# Resumable: the store lives in an ignored folder of the work tree (.store/paper-mlp), and every sweep skips the runs it
# already holds, so running this again after an interruption trains only what is missing. Logs: .store/paper-mlp/make.log.
set -euo pipefail
source "$(dirname "$0")/../store.sh" paper-mlp
run() { job --profile paper "$@"; }
run --studies mlp_towers,mlp_depth,mlp_cost       # C2[mlp], C3[mlp], C5, B5[mlp]; D1, D2; E1-E3
run --studies mlp_table1,mlp_long                 # Table 1's family again, B1 per stack (the re-runs follow Table 1)
run --beyond --studies mlp_lrfree,mlp_lrfree_cost # F1-F3 on the MLP at protocol
run --no-sweep --publish "$ROOT/results/paper-mlp"
