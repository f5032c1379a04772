"""Every command-line entry point against every class of bad input: exit status 2 (the user's input) or 3 (the
store), one line on stderr, no traceback, nothing trained.

The matrix calls each command's ``main`` in this process (an exception escaping it is what a traceback would be),
so that it stays fast; the two cases users met first (a tracking server that is not up, a damaged MNIST file) also
run as real processes, timed end to end.
"""

import shutil
import signal
import subprocess
import sys
import time

import pytest
from support.cli import environment

from pipeline import claims_job, sweep, train
from training.data import REPOSITORY_DATA
from training.runners.local import sweep_data

COMMANDS = {
    "train": (train.main, ["--profile", "smoke"]),
    "sweep": (sweep.main, ["--study", "mlp_table1", "--profile", "smoke"]),
    "claims": (claims_job.main, ["--profile", "smoke"]),
    "report": (claims_job.main, ["--no-sweep", "--profile", "smoke"]),
}


@pytest.fixture(scope="module")
def broken_data(tmp_path_factory):
    """Copies of the MNIST folder: one missing a file, one with a truncated file, one with two bytes changed inside a file."""
    root = tmp_path_factory.mktemp("data")
    copies = {}
    for kind in ("missing", "truncated", "damaged"):
        folder = root / kind / "mnist"
        shutil.copytree(REPOSITORY_DATA / "mnist", folder)
        target = folder / "train-labels-idx1-ubyte.gz"
        content = bytearray(target.read_bytes())
        if kind == "missing":
            target.unlink()
        elif kind == "truncated":
            target.write_bytes(content[: len(content) // 2])
        else:
            content[5000] ^= 0xFF
            content[5001] ^= 0x55
            target.write_bytes(bytes(content))
        copies[kind] = root / kind
    return copies


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A fresh store and working folder; data loaded by an earlier test forgotten; SIGTERM's handler put back after."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    sweep_data.cache_clear()
    handler = signal.getsignal(signal.SIGTERM)
    yield tmp_path
    signal.signal(signal.SIGTERM, handler)
    sweep_data.cache_clear()


def a_file(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker


# (command, extra arguments, environment, expected status, a phrase of the message); "{file}" is a plain file, "{data:kind}" a broken copy
CASES = [
    # unknown names
    ("train", ["--model", "vgg"], {}, 2, "unknown model 'vgg'"),
    ("train", ["--profile", "huge"], {}, 2, "unknown profile 'huge'"),
    ("train", ["--device", "tpu"], {}, 2, "unknown device 'tpu'"),
    ("sweep", ["--study", "mlp_everything"], {}, 2, "unknown study 'mlp_everything'"),
    ("sweep", ["--executor", "slurm"], {}, 2, "unknown executor 'slurm'"),
    ("claims", ["--benchmarks", "vit"], {}, 2, "benchmarks must be"),
    ("claims", ["--studies", "mlp_nothing"], {}, 2, "unknown study 'mlp_nothing'"),
    ("report", ["--profile", "huge"], {}, 2, "unknown profile 'huge'"),
    ("sweep", ["--profile", "huge"], {}, 2, "unknown profile 'huge'; expected one of smoke, cpu, paper"),
    # out-of-range and malformed numbers
    ("train", ["--epochs", "0"], {}, 2, "epochs must be at least 1"),
    ("train", ["--epochs", "many"], {}, 2, "epochs must be a whole number"),
    ("train", ["--seed", "-1"], {}, 2, "seed must be at least 0"),
    ("train", ["--batch-size", "many"], {}, 2, "batch_size must be a whole number"),
    ("sweep", ["--seeds", "0"], {}, 2, "seeds must be at least 1"),
    ("sweep", ["--workers", "0"], {}, 2, "workers must be at least 1"),
    ("claims", ["--seeds", "1"], {}, 2, "seeds must be at least 2"),
    ("claims", ["--seeds-per-pass", "0"], {}, 2, "seeds-per-pass must be at least 1"),
    ("claims", ["--dry-run", "maybe"], {}, 2, "dry-run must be true or false"),
    ("claims", ["--seeds", "1000000000", "--dry-run"], {}, 2, "seeds must be at most 1000"),
    ("sweep", ["--workers", "100000"], {}, 2, "workers must be at most 256"),
    ("claims", ["--seeds-per-pass", "5000"], {}, 2, "seeds-per-pass must be at most 1000"),
    ("train", ["--stack", " / ".join(["sgd"] * 3001)], {}, 2, "3001 levels; at most 101"),
    # malformed stack specifications
    ("train", ["--stack", "sgd(alpha="], {}, 2, "error: "),
    ("train", ["--stack", "adam / nosuch(0.1)"], {}, 2, "nosuch"),
    ("train", ["--stack", "sgd(-1)"], {}, 2, "out of its domain"),
    ("train", ["--stack", "prodigy / sgd(alpha=1e-5)"], {}, 2, "sets its own step size"),
    ("train", ["--stack", "relative(alpha=0.01)"], {}, 2, "relative scales positive hyperparameters"),
    ("claims", ["--beyond", "perhaps"], {}, 2, "beyond must be true or false"),
    # missing, truncated, damaged data
    ("train", [], {"HYPERCLAIMS_DATA": "{data:missing}"}, 2, "MNIST file train-labels-idx1-ubyte not found"),
    ("train", ["--data-dir", "{file}/nowhere"], {}, 2, "MNIST file train-images-idx3-ubyte not found"),
    ("train", [], {"HYPERCLAIMS_DATA": "{data:truncated}"}, 2, "is damaged or truncated: SHA-256"),
    ("train", [], {"HYPERCLAIMS_DATA": "{data:damaged}"}, 2, "is damaged or truncated: SHA-256"),
    ("sweep", [], {"HYPERCLAIMS_DATA": "{data:damaged}"}, 2, "expected"),
    ("claims", [], {"HYPERCLAIMS_DATA": "{data:truncated}"}, 2, "damaged or truncated"),
    # unreachable or malformed stores
    ("train", [], {"MLFLOW_TRACKING_URI": "http://user:secret@127.0.0.1:9"}, 3, "http://127.0.0.1:9 does not answer"),
    ("sweep", [], {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}, 3, "does not answer"),
    ("claims", [], {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}, 3, "does not answer"),
    ("report", [], {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}, 3, "does not answer"),
    ("train", [], {"MLFLOW_TRACKING_URI": "htp://127.0.0.1:5000"}, 3, "scheme MLflow cannot track to"),
    ("report", [], {"MLFLOW_TRACKING_URI": "sqlite:///{file}"}, 3, "cannot be opened as a SQLite database"),
    ("claims", [], {"MLFLOW_TRACKING_URI": "sqlite:///{file}/mlflow.db"}, 3, "cannot be made"),
    # an unwritable output folder
    ("claims", ["--out", "{file}/reports"], {}, 2, "cannot write to the report folder"),
    ("claims", ["--publish", "{file}/result"], {}, 2, "cannot write to the publish folder"),
    ("report", ["--out", "{file}/reports"], {}, 2, "cannot write to the report folder"),
    # nothing to decide
    ("report", [], {}, 2, "holds no finished runs of the smoke profile"),
]


def _fill(text: str, blocker, broken) -> str:
    for kind, folder in broken.items():
        text = text.replace(f"{{data:{kind}}}", str(folder))
    return text.replace("{file}", str(blocker))


@pytest.mark.parametrize("command, extra, env, status, phrase", CASES, ids=[f"{c[0]}:{' '.join(c[1]) or next(iter(c[2]), 'an empty store')}" for c in CASES])
def test_bad_input_ends_in_one_line(command, extra, env, status, phrase, isolated, broken_data, monkeypatch, capsys):
    blocker = a_file(isolated)
    for name, value in env.items():
        monkeypatch.setenv(name, _fill(value, blocker, broken_data))
    main, base = COMMANDS[command]
    started = time.perf_counter()
    code = main(base + [_fill(arg, blocker, broken_data) for arg in extra])
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == status, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and phrase in lines[0], err
    assert "secret" not in err and elapsed < 10
    assert not list(isolated.glob("mlruns/*/*/metrics"))  # no run was made


@pytest.mark.parametrize("setting", ["store", "data"])
def test_the_first_reported_cases_end_within_ten_seconds(setting, tmp_path, broken_data):
    """An MLflow server that is not up, a damaged MNIST file: one line, as real processes, in at most 10 s."""
    env = environment("http://127.0.0.1:9") if setting == "store" else environment(f"sqlite:///{tmp_path / 'mlflow.db'}", HYPERCLAIMS_DATA=str(broken_data["damaged"]))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline.train", "--model", "mlp", "--profile", "smoke"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - started
    assert done.returncode == (3 if setting == "store" else 2) and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert elapsed <= 10, f"{elapsed:.1f}s"
