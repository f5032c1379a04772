"""Two claims about the runs of log_runs.py, decided over seeds by hyperclaims' engine."""

from claims.declare import Runs, better

RUNS = Runs(title="Momentum against plain gradient descent", cell="params.optimizer", seed="params.seed", experiment="my-optimizers")
CLAIMS = [
    better("M1", "Momentum ends with a lower training loss than plain gradient descent after 20 steps",
           "metrics.train_loss", "momentum", than="sgd", declared="2026-12-03"),
    better("M2", "Plain gradient descent ends with a lower training loss than momentum",
           "metrics.train_loss", "sgd", than="momentum", declared="2026-12-03"),
]
