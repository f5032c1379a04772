"""ResNet-20 and the char-LSTM: shapes, parameter counts, batch norm, the cell, the tasks."""

import math

import pytest
import torch
import torch.nn.functional as F

from training.core.benchmark import build_model
from training.core.config import ConfigError, Profile, make_config, schedule_factor
from training.core.loop import train_run
from training.core.models import CharLSTM, ResNet20
from training.core.tasks import TextTask, augment
from training.data import Split


def test_resnet20_has_the_published_size_and_shapes():
    model = ResNet20()
    assert sum(p.numel() for p in model.parameters()) == 269_722  # He et al.: 0.27 M
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_batch_norm_statistics_update_when_weights_are_plain_tensors():
    model = build_model("resnet20", 0)
    weights = {name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()}
    before = model.bn.running_mean.clone()
    out = torch.func.functional_call(model, weights, (torch.randn(8, 3, 32, 32) + 1.0,))
    F.nll_loss(out, torch.zeros(8, dtype=torch.int64)).backward()
    assert not torch.equal(model.bn.running_mean, before)
    assert int(model.bn.num_batches_tracked) == 1
    model.eval()  # inference mode uses the running statistics, so a single example is fine
    torch.func.functional_call(model, weights, (torch.randn(1, 3, 32, 32),))
    assert int(model.bn.num_batches_tracked) == 1


def test_hand_written_lstm_equals_torch_lstm():
    model = CharLSTM(vocab=12, embedding=6, hidden=5, layers=2)
    reference = torch.nn.LSTM(6, 5, num_layers=2, batch_first=True)
    with torch.no_grad():
        for layer in range(2):
            getattr(reference, f"weight_ih_l{layer}").copy_(model.w_in[layer])
            getattr(reference, f"weight_hh_l{layer}").copy_(model.w_rec[layer])
            getattr(reference, f"bias_ih_l{layer}").copy_(model.bias[layer])
            getattr(reference, f"bias_hh_l{layer}").zero_()
    tokens = torch.randint(0, 12, (3, 7))
    state = torch.randn(2, 2, 3, 5)
    out, final = model(tokens, state)
    ref_out, (h, c) = reference(model.embed(tokens), (state[:, 0].contiguous(), state[:, 1].contiguous()))
    assert torch.allclose(out, F.log_softmax(model.out(ref_out), dim=-1), atol=1e-6)
    assert torch.allclose(final[:, 0], h, atol=1e-6) and torch.allclose(final[:, 1], c, atol=1e-6)


def test_truncated_bptt_carries_the_state_but_not_the_graph():
    ids = torch.randint(0, 80, (50 * 120,))
    task = TextTask(Split(ids, ids, vocab="x" * 80), Split(ids, ids, vocab="x" * 80), 50, torch.device("cpu"))
    model = build_model("charlstm", 0, vocab=80)
    weights = {name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()}
    chunks = (tuple(part[0] for part in chunk) for chunk in task.epoch([torch.Generator()]))  # one seed
    first, second = next(chunks), next(chunks)
    _, state = task.loss(model, weights, first, task.carried(model, 1)[0])
    task.carry_on(state[None])
    carried = task.carried(model, 1)
    assert carried.shape == (1, 2, 2, 50, 128) and not carried.requires_grad and carried.abs().sum() > 0
    loss_carried, _ = task.loss(model, weights, second, carried[0])
    fresh, _ = task.loss(model, weights, second, torch.zeros_like(carried[0]))
    assert loss_carried.item() != fresh.item()  # the carried state mattered


def test_augmentation_pads_crops_and_flips():
    images = torch.arange(2 * 3 * 32 * 32, dtype=torch.int64).view(2, 3, 32, 32).to(torch.uint8)
    centred = augment(images, torch.tensor([[4, 4], [4, 4]]), torch.tensor([False, True]))
    assert torch.equal(centred[0], images[0]) and torch.equal(centred[1], images[1].flip(2))
    corner = augment(images, torch.tensor([[0, 0], [8, 8]]), torch.tensor([False, False]))
    assert corner[0, :, :4].eq(0).all() and torch.equal(corner[0, :, 4:, 4:], images[0, :, :28, :28])
    assert torch.equal(corner[1, :, :28, :28], images[1, :, 4:, 4:])


def test_schedule_divides_alpha_by_ten_after_each_boundary():
    assert [schedule_factor("step:2,3", epoch) for epoch in (1, 2, 3, 4)] == [1, 1, 0.1, pytest.approx(0.01)]
    assert make_config("resnet20", "sgd(0.1, mu=0.9)", 4, schedule=" step:3,2").schedule == "step:2,3"
    for bad in ("step:", "step:a", "cosine:3", "step:0"):
        with pytest.raises(ConfigError, match="schedule"):
            make_config("resnet20", "sgd(0.1)", 4, schedule=bad)
    with pytest.raises(ConfigError, match="height 0"):
        make_config("resnet20", "sgd(0.1) / sgd(1e-3)", 4, schedule="step:2")


def tiny_cifar(n):
    generator = torch.Generator().manual_seed(0)
    return Split(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=generator), torch.arange(n) % 10, "tiny")


def test_resnet20_trains_hyperoptimized_with_a_schedule_free_stack():
    config = make_config("resnet20", "sgd(alpha=0.1, mu=0.9, wd=1e-4) / sgd_per_param(alpha=1e-5, mu=1e-5)", 2, profile="smoke")
    result = train_run(config, tiny_cifar(256), tiny_cifar(40))
    assert result.metric == "test_error" and result.steps == 2 and not result.diverged  # smoke: one batch of 128 an epoch
    alpha = [values["0.alpha"] for _, values in result.epochs[-1].hp_steps]
    assert alpha[-1] != 0.1 and result.epochs[-1].hyperparameters["0.mu"] != 0.9


def test_schedule_reaches_the_weight_step_size():
    config = make_config("resnet20", "sgd(alpha=0.1, mu=0.9)", 2, profile="smoke", schedule="step:1")
    result = train_run(config, tiny_cifar(256), tiny_cifar(40), hp_every=1)
    assert result.epochs[0].hyperparameters["0.alpha"] == pytest.approx(0.1)
    assert result.epochs[1].hyperparameters["0.alpha"] == pytest.approx(0.01)


def test_char_lstm_trains_hyperoptimized_and_reports_perplexity():
    ids = torch.randint(0, 80, (12_000,), generator=torch.Generator().manual_seed(0))
    text = Split(ids, ids, "random text", "x" * 80)
    config = make_config("charlstm", "adam(alpha=2e-3) / sgd_per_param(alpha=2e-5, beta1=1e-4, beta2=2e-4)", 1, profile="smoke")
    result = train_run(config, text, text.head(5000))
    assert result.metric == "test_perplexity" and result.steps == (10_000 // 50 - 1) // 50
    assert 1 < result.final_test_value < 200 and math.isfinite(result.final_test_value)
    assert result.epochs[-1].hyperparameters["0.beta1"] != 0.9


@pytest.mark.parametrize(("model", "parameters"), [("hd_logreg", 784 * 10 + 10), ("hd_mlp", 784 * 1000 + 1000 + 1000 * 1000 + 1000 + 1000 * 10 + 10)])
def test_hypergradient_papers_models_have_their_sizes_and_normalise_their_inputs(model, parameters):
    """[H]'s logistic regression and 784-1000-1000-10 MLP: their sizes, log-probabilities out, pixels normalised inside."""
    net = build_model(model, seed=0)
    assert sum(p.numel() for p in net.parameters()) == parameters
    pixels = torch.rand(4, 784)
    out = net(pixels)
    assert out.shape == (4, 10) and torch.allclose(out.exp().sum(dim=1), torch.ones(4))
    body = net.linear if model == "hd_logreg" else net.layers
    assert torch.allclose(out, F.log_softmax(body((pixels - 0.1307) / 0.3081), dim=1))  # torchvision's MNIST statistics, as [H]


def test_auto_epochs_are_the_benchmarks_own_then_the_papers_or_asked_for_in_one_line():
    published = {"sgd": 30, "adam": 5}  # a paper's counts by the weight level's optimizer
    assert make_config("hd_logreg", "sgd(alpha=0.01)", "auto", profile="cpu", epochs_by_optimizer=published).epochs == 10  # [H]'s run.sh
    assert make_config("hd_mlp", "adam(alpha=0.001)", "auto", profile="cpu").epochs == 100
    assert make_config("mlp", "adam(alpha=0.001) / sgd(alpha=1e-5)", "auto", profile="cpu", epochs_by_optimizer=published).epochs == 5
    assert make_config("mlp", "adam(alpha=0.001)", "auto", profile="smoke").epochs == 1
    with pytest.raises(ConfigError, match="no published epoch count for adagrad on mlp: give the epochs"):
        make_config("mlp", "adagrad(alpha=0.01)", "auto", profile="cpu", epochs_by_optimizer=published)


def test_a_profile_is_parsed_once_into_a_value_that_logs_as_its_name():
    assert Profile.parse(" cpu ") is Profile.CPU and Profile.PAPER.published and not Profile.CPU.published
    config = make_config("mlp", "sgd(alpha=0.01)", 1, profile="cpu")
    assert config.profile is Profile.CPU and config.to_params()["profile"] == "cpu"
    assert config.config_hash == make_config("mlp", "sgd(alpha=0.01)", 1, profile=Profile.CPU).config_hash
    assert Profile.SMOKE.size("mlp") == (2048, 1000) and Profile.CPU.size("resnet20") == (2_560, 1_000)
    with pytest.raises(ConfigError, match="unknown profile 'huge'; expected one of smoke, cpu, paper"):
        Profile.parse("huge")
