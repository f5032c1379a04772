"""A plain training script that knows nothing of hyperclaims: least squares by gradient descent, with and
without momentum, eight seeds each, every run logged to MLflow experiment 'my-optimizers'."""

import mlflow
import numpy as np

mlflow.set_experiment("my-optimizers")
for seed in range(8):
    data = np.random.default_rng(seed)
    x, w_true = data.normal(size=(200, 20)), data.normal(size=20)
    y = x @ w_true + 0.1 * data.normal(size=200)
    for optimizer, momentum in (("sgd", 0.0), ("momentum", 0.9)):
        w, velocity = np.zeros(20), np.zeros(20)
        for _ in range(20):
            velocity = momentum * velocity + x.T @ (x @ w - y) / len(y)
            w -= 0.05 * velocity
        with mlflow.start_run(run_name=f"{optimizer} s{seed}"):
            mlflow.log_params({"optimizer": optimizer, "seed": seed, "steps": 20})
            mlflow.log_metric("train_loss", float(np.mean((x @ w - y) ** 2)))
