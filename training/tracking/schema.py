"""The MLflow contract: every name a run is written and read by, in one place.

Writers (``training.tracking.writer``, the runners) and the reader
(``training.tracking.runs``) use these constants, so a name changed here
changes on both sides. Tags are strings; metrics are floats indexed by step.
"""

from __future__ import annotations

# --- tags of a training run: its identity (written when the run is created) ---------------
CONFIG_HASH = "config_hash"  # RunConfig.config_hash: a sweep skips a config whose FINISHED run has it
SEED = "seed"
PROFILE = "profile"
CODE_VERSION = "code_version"
STUDY = "study"
CELL = "cell"  # the study's cell label (a paper's studies name them, e.g. papers.ultimate_optimizer.studies.labels)
CLAIMS = "claims"  # comma list of the claim ids the run's study serves
EXECUTOR = "executor"
SWEEP_RUN = "sweep_run_id"  # the `mlflow run -e sweep` launcher that asked for the run
CLAIMS_LAUNCHER = "claims_launcher"  # the `mlflow run -e claims` launcher that asked for it

# --- tags of a training run: its outcome (written when it ends) ------------------------------
DIVERGED = "diverged"  # "true" / "false"
DIVERGED_STEP = "diverged_step"  # global step, or ""
SEEDS_IN_PASS = "seeds_in_pass"  # seeds trained together with it: its step_time_ms is the shared step's

# --- tags of runs that log themselves (remote workers) ---------------------------------------
CHECKPOINT_EPOCH = "checkpoint_epoch"
RESUMED_FROM = "resumed_from_run"
RESUMED_AFTER = "resumed_after_epoch"
CHECKPOINT_ARTIFACT = "checkpoint/latest.pt"  # one file per run, overwritten: storage stays bounded

# --- MLflow's own names ----------------------------------------------------------------------
NOTE = "mlflow.note.content"  # the run's (or experiment's) description, rendered as Markdown
PARENT_RUN = "mlflow.parentRunId"
EXPERIMENT_KIND = "mlflow.experimentKind"  # MLflow 3: an experiment of this kind is a model-training one
MODEL_TRAINING = "custom_model_development"
# MLflow 3.17's UI picks its GenAI or model-training view globally (this URL parameter, else the user's last choice), not from
# the experiment's kind: every link the project prints or writes carries it, so it opens on the run table
UI_VIEW = "workflowType=machine_learning"
DATASET_CONTEXT = "mlflow.data.context"  # on a dataset input: 'training' or 'evaluation'
DATASET_SLICE = "slice"  # on a dataset input: 'all', or which examples a profile used
LAUNCHER_ENV = "MLFLOW_RUN_ID"  # set by `mlflow run` in the process it launches
EXIT_STATUS = "exit_status"  # on the launcher run: the job's own exit status (`mlflow run` exits 1 for any failure)

# --- metrics of a training run ----------------------------------------------------------------
TRAIN_LOSS = "train_loss"  # by epoch
TEST_ERROR = "test_error"  # by epoch, percent (image models)
TEST_PERPLEXITY = "test_perplexity"  # by epoch (the char-LSTM)
STEP_TIME_MS = "step_time_ms"  # by epoch
STACK_BYTES = "stack_bytes"  # step 0: what the hyperoptimizer holds beyond the weights
WEIGHT_BYTES = "weight_bytes"  # step 0
HP_PREFIX = "hp."  # hp.<level>.<name> by global step (0 = the initial value)


def hp_metric(name: str) -> str:
    """The metric of a hyperparameter named ``<level>.<name>`` (e.g. 'hp.0.alpha')."""
    return HP_PREFIX + name


# --- the claims run ---------------------------------------------------------------------------
CLAIMS_EXPERIMENT = "claims"
CLAIMS_RUN_ID = "claims_run_id"  # tag on the `mlflow run` launcher: the claims run it made
VERDICT_TABLE = "verdicts.json"
REPORT_ARTIFACTS = "report"


def verdict_tag(claim_id: str) -> str:
    return f"verdict.{claim_id}"


def scope_tag(claim_id: str) -> str:
    """'protocol', 'reduced' or 'none' (no runs): what the verdict speaks to."""
    return f"scope.{claim_id}"


def claim_metric(claim_id: str, key: str) -> str:
    """e.g. 'A1.effect', 'A1.p_support_holm'."""
    return f"{claim_id}.{key}"
