"""HyperOptimizer, the drop-in torch.optim.Optimizer: exact against torch.optim.SGD and the authors' package, resumable bit for bit."""

import copy
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from gradient_descent_the_ultimate_optimizer import gdtuo
from mlflow.tracking import MlflowClient
from support.cli import REPO, environment
from support.oracle import TinyMLP
from torch.overrides import TorchFunctionMode

from training.hyper import HyperOptimizer, parse_stack
from training.hyper.reference import build_reference, reference_raw

STACKS = [
    "sgd(alpha=0.1) / sgd(alpha=0.1)",
    "sgd(alpha=0.1, mu=0.5) / sgd_per_param(alpha=0.1, mu=0.01)",
    "adam(alpha=0.01) / sgd(alpha=0.001)",
    "adagrad(alpha=0.1) / adagrad(alpha=0.01)",
    "rmsprop(alpha=0.01, gamma=0.9) / adam(alpha=0.001)",
    "adam(alpha=0.01) / sgd(alpha=0.001) / adam(alpha=0.01) / sgd(alpha=0.01)",
]


def batches(steps: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(steps, 16, 12, generator=generator, dtype=torch.float64)
    return x, (x @ torch.randn(12, 3, generator=generator, dtype=torch.float64)).argmax(-1)


def train(model, opt, data, start: int = 0, stop: int | None = None):
    x, y = data
    for i in range(start, len(x) if stop is None else stop):
        opt.zero_grad()
        F.nll_loss(model(x[i]), y[i]).backward()
        opt.step()


def test_a_plain_level_updates_exactly_like_torch_optim_sgd():
    torch.manual_seed(0)
    ours, theirs = TinyMLP(), TinyMLP()
    theirs.load_state_dict(ours.state_dict())
    data = (torch.randn(20, 16, 12), torch.randint(0, 3, (20, 16)))
    train(ours, HyperOptimizer(ours.parameters(), "sgd(alpha=0.1)"), data)
    train(theirs, torch.optim.SGD(theirs.parameters(), lr=0.1), data)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("text", STACKS)
def test_stacks_match_the_authors_package(text):
    """In an ordinary loop (backward without create_graph), weights and every level's hyperparameters agree with gdtuo 1.0 to 1e-9."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        ours = TinyMLP()
        reference = copy.deepcopy(ours)
        wrapper = gdtuo.ModuleWrapper(reference, optimizer=build_reference(parse_stack(text)))
        wrapper.initialize()
        opt = HyperOptimizer(ours.parameters(), text)
        x, y = batches(40)
        for i in range(len(x)):
            wrapper.begin()
            loss = F.nll_loss(wrapper.forward(x[i]), y[i])
            wrapper.zero_grad()
            loss.backward(create_graph=True)
            wrapper.step()
            train(ours, opt, (x, y), i, i + 1)
        names = [name for name, _ in ours.named_parameters()]
        for name, mine in zip(names, ours.parameters()):
            ref = wrapper.parameters[name].detach()
            assert (mine.detach() - ref).abs().max() <= 1e-9 * ref.abs().max(), name
        for mine, ref in zip(opt.stacks[0].raw, reference_raw(wrapper.optimizer)):
            assert (mine - ref).abs().max() <= 1e-9 * ref.abs().max()
    finally:
        torch.set_default_dtype(previous)


@pytest.mark.parametrize("text", STACKS)
def test_state_dict_resumes_bit_for_bit(text):
    torch.manual_seed(1)
    model = TinyMLP().double()
    data = batches(30, seed=1)
    opt = HyperOptimizer(model.parameters(), text)
    train(model, opt, data, 0, 12)
    saved_model, saved_opt = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
    train(model, opt, data, 12)
    resumed = TinyMLP().double()
    resumed.load_state_dict(saved_model)
    resumed_opt = HyperOptimizer(resumed.parameters(), text)
    resumed_opt.load_state_dict(saved_opt)
    train(resumed, resumed_opt, data, 12)
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    assert opt.hyperparameters() == resumed_opt.hyperparameters()


def test_groups_lr_clipping_autocast_and_a_scheduler():
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(12, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    opt = HyperOptimizer([{"params": model[0].parameters(), "stack": "adam(alpha=0.01) / sgd(alpha=1e-4)"},
                          {"params": model[2].parameters()}], stack="sgd(alpha=0.1) / sgd(alpha=0.01)")
    assert [g["stack"] for g in opt.param_groups] == ["adam(alpha=0.01, beta1=0.9, beta2=0.999) / sgd(alpha=0.0001, mu=0.0)",
                                                      "sgd(alpha=0.1, mu=0.0) / sgd(alpha=0.01, mu=0.0)"]
    x, y = torch.randn(50, 16, 12), torch.randint(0, 3, (50, 16))
    losses = []
    for i in range(len(x)):
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x[i]), y[i])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # the hypergradient sees the clipped gradient
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) < sum(losses[:10])
    assert isinstance(opt.param_groups[1]["lr"], torch.Tensor) and float(opt.param_groups[1]["lr"]) == opt.hyperparameters(1)["0.alpha"] != 0.1
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    scheduler.step()
    assert float(opt.param_groups[1]["lr"]) == pytest.approx(0.5 * opt.hyperparameters(1)["0.alpha"])  # the scheduler wrote it
    opt.zero_grad()
    F.cross_entropy(model(x[0]), y[0]).backward()
    with pytest.warns(UserWarning, match="learned step size"):
        opt.step()
    assert float(opt.param_groups[1]["lr"]) == opt.hyperparameters(1)["0.alpha"]  # ... and the step wrote the learned value back


def test_gradients_zeroed_in_place_are_as_good_as_fresh_ones():
    """The optimizer copies the gradients it is handed (one vector per group), so ``zero_grad(set_to_none=False)``
    between steps, as some loops do, changes nothing."""
    torch.manual_seed(0)
    x, y = torch.randn(16, 12), torch.randint(0, 3, (16,))
    runs = []
    for in_place in (False, True):
        model = TinyMLP()
        torch.manual_seed(1)
        model.load_state_dict(TinyMLP().state_dict())
        opt = HyperOptimizer(model.parameters(), "sgd(alpha=0.1) / sgd(alpha=0.1)")
        for _ in range(3):
            model.zero_grad(set_to_none=not in_place)
            F.nll_loss(model(x), y).backward()
            opt.step()
        runs.append((opt.hyperparameters(), [p.detach().clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0] and all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_the_readme_example_runs_and_logs_the_learned_step_size(tmp_path):
    readme = (REPO / "README.md").read_text()
    start = readme.index("```python", readme.index("<!-- example: drop-in optimizer -->")) + len("```python")
    example = tmp_path / "example.py"
    example.write_text(readme[start : readme.index("```", start)])
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = subprocess.run([sys.executable, str(example)], cwd=tmp_path, env=environment(uri), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    tracking = MlflowClient(uri)
    (run,) = tracking.search_runs(["0"])
    alphas = [m.value for m in tracking.get_metric_history(run.info.run_id, "alpha")]
    assert len(alphas) == 5 and alphas[-1] != 1e-3  # learned, epoch by epoch


def test_compiled_rules_train_as_the_eager_ones():
    """HyperOptimizer(compiled=True) fuses each rule's arithmetic (benchmarks/hyperstep.py: the cheaper Adam step); the numbers
    stay the eager rules' up to rounding."""
    data = batches(4)
    eager_model = TinyMLP().double()
    compiled_model = copy.deepcopy(eager_model)
    eager = HyperOptimizer(eager_model.parameters(), "adam(alpha=0.01) / sgd(alpha=0.001)")
    compiled = HyperOptimizer(compiled_model.parameters(), "adam(alpha=0.01) / sgd(alpha=0.001)", compiled=True)
    assert "kernel" in vars(compiled.stacks[0].rules[0]) and "kernel" not in vars(eager.stacks[0].rules[0])  # Adam's kernel, fused
    train(eager_model, eager, data)
    train(compiled_model, compiled, data)
    for mine, theirs in zip(eager_model.parameters(), compiled_model.parameters()):
        torch.testing.assert_close(theirs, mine, rtol=1e-9, atol=1e-12)
    assert compiled.hyperparameters() == pytest.approx(eager.hyperparameters(), rel=1e-9)


class HostTraffic(TorchFunctionMode):
    """Records what a step would send between host and device: values read back (``item``, a tensor's truth value,
    ``tolist``) and tensors made from host data (``torch.tensor``). On CUDA each is a synchronisation of the host with the
    device (a copy from pageable memory waits for the stream); on the meta device, where these tests run, none raises."""

    FROM_HOST = {torch.tensor, torch.as_tensor, torch.from_numpy}
    TO_HOST = {torch.Tensor.item, torch.Tensor.tolist, torch.Tensor.__bool__, torch.Tensor.__float__, torch.Tensor.__int__,
               torch.Tensor.cpu, torch.Tensor.numpy}

    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.FROM_HOST or func in self.TO_HOST:
            self.seen.append(func.__name__)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("text", [*STACKS, "sgd(alpha=0.1) / relative(alpha=0.01)"])
def test_a_step_exchanges_nothing_with_the_host(text):
    """No host sync per step (the issue's CUDA requirement), checked where no GPU is needed: the whole step runs on
    meta tensors, which hold no values, and nothing in it reads a value back or builds a tensor from host data."""
    model = TinyMLP().to("meta")
    opt = HyperOptimizer(model.parameters(), text)
    x, y = torch.empty(16, 12, device="meta"), torch.empty(16, dtype=torch.long, device="meta")
    for _ in range(3):
        opt.zero_grad()
        F.nll_loss(model(x), y).backward()
        with HostTraffic() as traffic:
            opt.step()
        assert traffic.seen == []
    assert opt.param_groups[0]["lr"].device.type == "meta"


def test_the_host_traffic_check_sees_a_sync():
    with HostTraffic() as traffic:
        weights = torch.ones(3)
        if weights.sum() > 0:
            torch.tensor([weights.max().item()])
    assert traffic.seen == ["__bool__", "item", "tensor"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (the meta-device test above covers the same ground)")
def test_a_cuda_step_does_not_synchronise():
    model = TinyMLP().cuda()
    opt = HyperOptimizer(model.parameters(), "adam(alpha=0.01) / sgd(alpha=0.001) / adam(alpha=0.01) / sgd(alpha=0.01)")
    x, y = torch.randn(16, 12, device="cuda"), torch.randint(0, 3, (16,), device="cuda")
    for _ in range(3):
        opt.zero_grad()
        F.nll_loss(model(x), y).backward()
        torch.cuda.set_sync_debug_mode("error")
        try:
            opt.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")


def test_the_weights_stepped_are_the_parameters_whatever_changed_them_between_steps():
    """The optimizer makes a group's parameters views of one buffer; changes made to them between steps (in place,
    through ``.data``, by replacing their storage, by loading a state dict) are what the next step moves on from,
    exactly as with torch.optim.SGD."""
    torch.manual_seed(0)
    ours, theirs = TinyMLP(), TinyMLP()
    theirs.load_state_dict(ours.state_dict())
    hyper, plain = HyperOptimizer(ours.parameters(), "sgd(alpha=0.1)"), torch.optim.SGD(theirs.parameters(), lr=0.1)
    assert all(p.data_ptr() != q.data_ptr() for p, q in zip(ours.parameters(), theirs.parameters()))
    changes = [lambda m: None,
               lambda m: [p.data.clamp_(-0.1, 0.1) for p in m.parameters()],  # through .data: no version counter sees it
               lambda m: [setattr(p, "data", p.data.clone() * 0.5) for p in m.parameters()],  # new storage
               lambda m: m.load_state_dict({k: torch.ones_like(v) for k, v in m.state_dict().items()}),
               lambda m: None]
    x, y = torch.randn(16, 12), torch.randint(0, 3, (16,))
    for change in changes:
        for model, opt in ((ours, hyper), (theirs, plain)):
            change(model)
            opt.zero_grad()
            F.nll_loss(model(x), y).backward()
            opt.step()
        for a, b in zip(ours.parameters(), theirs.parameters()):
            assert torch.equal(a, b)


def test_a_channels_last_parameter_keeps_its_layout():
    conv = torch.nn.Conv2d(3, 4, 3).to(memory_format=torch.channels_last)
    opt = HyperOptimizer(conv.parameters(), "sgd(alpha=0.1) / sgd(alpha=0.01)")
    conv(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    assert opt.buffers == [None] and conv.weight.is_contiguous(memory_format=torch.channels_last)
