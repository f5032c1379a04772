#!/usr/bin/env bash
# The device check (at most 8 minutes on one GPU): ResNet-20 and char-LSTM paper epochs at 1 and 8 seeds per pass,
# the MLP's paper-protocol run at 1 and 10 seeds per pass, whether a drop-in HyperOptimizer step syncs the host, and the
# estimate of the whole paper profile on this GPU.
# Figures go to stdout and to benchmarks/gpu-check.json; record them in benchmarks/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
exec timeout 480 env PYTHONPATH=. "$PYTHON" benchmarks/gpu_check.py --device cuda --json benchmarks/gpu-check.json "$@"
