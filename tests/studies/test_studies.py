"""The study contract: labels built and parsed in one place match the studies; profiles; generated reductions."""

import pytest

from papers.ultimate_optimizer.studies import ALL_STUDIES, STUDIES, build_study, labels, reductions
from papers.ultimate_optimizer.studies.large import LSTM_ALPHAS, RESNET_ALPHAS, RESNET_MUS
from papers.ultimate_optimizer.studies.mlp import COST_HEIGHTS, TABLE1_PANELS, TOWER_ALPHAS
from papers.ultimate_optimizer.studies.towers import TOWER_HEIGHTS
from training.core.config import Profile, make_config
from training.hyper.stackspec import parse_stack
from training.studies.base import PerProfile


def cell_labels(name: str, profile: str) -> set[str]:
    return {cell.label for cell in build_study(name, profile).cells}


@pytest.mark.parametrize("profile", list(Profile))
def test_the_labels_the_claims_build_are_the_cells_the_studies_train(profile):
    """A claim finds its runs through the label builders: every cell it asks for must exist."""
    table1 = {labels.baseline(p) for p in TABLE1_PANELS} | {labels.stack(p, i) for p, (_, stacks) in TABLE1_PANELS.items() for i in range(len(stacks))}
    assert cell_labels(labels.MLP_TABLE1, profile) == table1
    assert cell_labels(labels.MLP_LONG, profile) == {labels.long_run(p, r) for p in ("adam", "rmsprop") for r in ("baseline", "stack")}
    assert cell_labels(labels.MLP_TOWERS, profile) == {labels.tower(h, a) for h in TOWER_HEIGHTS for a in TOWER_ALPHAS}
    assert cell_labels(labels.MLP_COST, profile) == {labels.cost(h) for h in COST_HEIGHTS}
    assert labels.depth(labels.DEPTH_PLAIN, 0, 0.01) in cell_labels(labels.MLP_DEPTH, profile)
    assert cell_labels(labels.RESNET_GRID, profile) == {labels.grid(k, a, m) for k in ("baseline", "hyper") for a in RESNET_ALPHAS for m in RESNET_MUS}
    assert cell_labels(labels.RESNET_SCHEDULE, profile) == {labels.schedule("he"), labels.schedule("hyper")}
    assert cell_labels(labels.CHARLSTM_GRID, profile) == {labels.lstm(k, a) for k in ("baseline", "hyper") for a in LSTM_ALPHAS}
    for study in labels.TOWER_STUDIES:
        for label in cell_labels(study, profile):
            assert labels.tower(int(label.split(":h")[1].split(":")[0]), labels.tower_alpha(label)) == label


def test_rerun_labels_follow_their_stack():
    assert labels.rerun_of(labels.stack("adam", 2)) == labels.rerun("adam", 2)
    assert labels.panel_of(labels.rerun("rmsprop", 3)) == "rmsprop" and labels.is_stack(labels.stack("sgd", 0))


def test_every_study_is_built_once_and_every_stack_parsed_once_per_config():
    assert build_study(labels.MLP_TOWERS, "cpu") is build_study(labels.MLP_TOWERS, "cpu")
    for name in STUDIES:
        for _, config in build_study(name, "paper").configs("paper", seeds=1):
            assert "levels" in config.__dict__  # seeded by make_config: the loop does not parse again
            assert config.levels == parse_stack(config.stack)
    assert set(ALL_STUDIES) == set(STUDIES) | {labels.MLP_RERUNS}


def test_per_profile_names_each_profile():
    epochs = PerProfile(smoke=1, cpu=2, paper=30)
    assert [epochs.at(p) for p in ("smoke", "cpu", "paper")] == [1, 2, 30]
    with pytest.raises(TypeError):
        PerProfile(1, 2)


def test_reductions_are_read_off_the_studies():
    assert reductions("paper") == []
    cpu = reductions("cpu")
    assert "mlp_table1: 2 of 30 epochs (8 cells)." in cpu  # the Adam and RMSProp panels train the published 5 epochs
    assert any(line.startswith("resnet20: the first 2,560 training and 1,000 test CIFAR-10 images") for line in cpu)
    assert not any(line.startswith("mlp:") for line in cpu)  # the cpu profile trains on all of MNIST
    smoke = reductions("smoke")
    assert any(line.startswith("mlp: the first 2,048 training") for line in smoke)


def test_make_config_seeds_the_parsed_stack():
    config = make_config(stack="adam(0.001) / sgd(1e-5)", epochs=1)
    assert config.__dict__["levels"] == parse_stack("adam(alpha=0.001) / sgd(alpha=1e-5)")
