# Sourced by results/<name>/make.sh with the result's name: its store in an ignored folder of the work tree
# (.store/<name>, or $STORE), set as the tracking store, and the working folder (the runs' artifacts, mlruns/, go beside it).
# Defines ROOT (the repository) and job (the main job at one profile, its reports under the store).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STORE=${STORE:-$ROOT/.store/$1}
mkdir -p "$STORE"
export MLFLOW_TRACKING_URI="sqlite:///$STORE/mlflow.db"
cd "$STORE"
job() { python -m pipeline.claims_job --out "$STORE/reports" "$@"; }
