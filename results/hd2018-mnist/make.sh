#!/usr/bin/env bash
# Trains and publishes results/hd2018-mnist: [H]'s tuning example at the cpu profile (logistic regression at its
# protocol, 10 epochs on the whole of MNIST; the 784-1000-1000-10 MLP at 5 of its 100 epochs), 10 seeds; and [HR]'s
# logistic-regression grid at its protocol (6 x 6 cells, 50 epochs on the first 6,000 images), 8 seeds.
# Resumable: the store lives in an ignored folder of the work tree (.store/hd2018-mnist); a rerun trains only what is missing.
set -euo pipefail
source "$(dirname "$0")/../store.sh" hd2018-mnist
python -m training.tracking.store_setup
job --paper hd2018 --profile cpu
job --paper hd2018 --profile cpu --no-sweep --publish "$ROOT/results/hd2018-mnist"
