"""The torch.optim contract, for every optimizer the stack grammar knows, as weight level and (where allowed) as hyper level.

The stacks are generated from ``stackspec.OPTIMIZERS`` (packaged learning-rate-free
optimizers stand alone and are not HyperStack rules), so a new grammar entry is
checked without editing this file. Each check is one habit of PyTorch's own
optimizer tests (test/optim/test_optim.py): groups, closure, missing gradients,
state dict round trips and their validation and hooks, copies, dtypes, schedulers,
AMP, torch.compile, and one-line refusals of what a HyperOptimizer cannot step.
"""

import copy
import pickle

import pytest
import torch
import torch.nn.functional as F

from training.hyper import HyperOptimizer, rules
from training.hyper.stackspec import OPTIMIZERS, StackSpecError, make_rule, parse_stack

BASE = "sgd(alpha=0.05)"


def _allowed(text: str) -> bool:
    try:
        parse_stack(text)
        return True
    except StackSpecError:
        return False


def _level(name: str) -> str:
    """An optimizer at its defaults; sgd_per_param names what it tunes (the level below's alpha)."""
    return f"{name}(alpha=1e-4)" if name == "sgd_per_param" else f"{name}()"


RULES = [name for name, info in OPTIMIZERS.items() if info.package is None]
# each rule alone, as the weight level under a hyper level (its tangents are then kept between steps), and as a hyper level
STACKS = [s for s in [_level(name) for name in RULES] + [f"{_level(name)} / sgd(alpha=1e-5)" for name in RULES]
          + [f"{BASE} / {_level(name)}" for name in RULES] if _allowed(s)]


def model(dtype=torch.float32, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).to(dtype)


def data(steps: int = 4, dtype=torch.float32):
    generator = torch.Generator().manual_seed(1)
    return torch.randn(steps, 8, 6, generator=generator).to(dtype), torch.randint(0, 3, (steps, 8), generator=generator)


def loss_of(net, x, y):
    return F.cross_entropy(net(x), y)


def train(net, opt, x, y) -> None:
    for xi, yi in zip(x, y):
        opt.zero_grad()
        loss_of(net, xi, yi).backward()
        opt.step()


def same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_every_grammar_entry_is_checked():
    assert {s.split("(")[0] for s in STACKS if "/" not in s} >= {"sgd", "adam", "adagrad", "rmsprop"}
    assert len([s for s in STACKS if s.startswith(BASE + " /")]) >= len(RULES) - 1


@pytest.mark.parametrize("stack", STACKS)
class TestContract:
    def test_groups_added_later_and_empty_groups_step(self, stack):
        net = model()
        first, second = list(net[0].parameters()), list(net[2].parameters())
        opt = HyperOptimizer([{"params": first}, {"params": []}], stack)
        opt.add_param_group({"params": second})
        before = [p.detach().clone() for p in second]
        train(net, opt, *data())
        assert all(not torch.equal(b, p) for b, p in zip(before, second)) and len(opt.stacks) == 3

    def test_torch_keys_in_a_group_are_refused_in_one_line(self, stack):
        with pytest.raises(ValueError, match="'lr'.*'params' and 'stack'") as error:
            HyperOptimizer([{"params": model().parameters(), "lr": 0.5}], stack)
        assert "\n" not in str(error.value)

    def test_closure_is_called_and_its_loss_returned(self, stack):
        net, (x, y) = model(), data()
        opt = HyperOptimizer(net.parameters(), stack)

        def closure():
            opt.zero_grad()
            loss = loss_of(net, x[0], y[0])
            loss.backward()
            return loss
        assert torch.isfinite(opt.step(closure))

    def test_missing_and_zero_gradients_step_without_error(self, stack):
        """A parameter whose .grad is None counts as gradient zero (documented: unlike torch, its state may still move it)."""
        net = model()
        opt = HyperOptimizer(net.parameters(), stack)
        opt.step()  # no gradient at all yet
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
        opt.step()
        assert all(torch.isfinite(p).all() for p in net.parameters())

    def test_state_dict_round_trip_continues_bit_for_bit(self, stack):
        x, y = data(6)
        net = model()
        opt = HyperOptimizer(net.parameters(), stack)
        train(net, opt, x[:3], y[:3])
        saved_net, saved_opt = copy.deepcopy(net.state_dict()), pickle.loads(pickle.dumps(opt.state_dict()))
        train(net, opt, x[3:], y[3:])
        fresh = model(seed=5)
        fresh.load_state_dict(saved_net)
        resumed = HyperOptimizer(fresh.parameters(), stack)
        resumed.load_state_dict(saved_opt)
        train(fresh, resumed, x[3:], y[3:])
        assert same(net, fresh)

    def test_load_checks_what_it_loads(self, stack):
        net = model()
        opt = HyperOptimizer(net[0].parameters(), stack)
        train(net, opt, *data(1))
        other = torch.nn.Linear(6, 5, bias=False)
        with pytest.raises(ValueError, match="shapes"):
            HyperOptimizer(other.parameters(), stack).load_state_dict(opt.state_dict())

    def test_state_dict_hooks_run(self, stack):
        opt, calls = HyperOptimizer(model().parameters(), stack), []
        opt.register_state_dict_pre_hook(lambda o: calls.append("pre"))
        opt.register_state_dict_post_hook(lambda o, sd: calls.append("post"))
        opt.register_load_state_dict_pre_hook(lambda o, sd: calls.append("load_pre"))
        opt.register_load_state_dict_post_hook(lambda o: calls.append("load_post"))
        opt.load_state_dict(opt.state_dict())
        assert calls == ["pre", "post", "load_pre", "load_post"]

    def test_deepcopy_and_pickle_keep_the_optimizer(self, stack):
        x, y = data(4)
        net = model()
        opt = HyperOptimizer(net.parameters(), stack)
        train(net, opt, x[:2], y[:2])
        net_copy, opt_copy = copy.deepcopy((net, opt))
        pickled_net, pickled_opt = pickle.loads(pickle.dumps((net, opt)))
        train(net, opt, x[2:], y[2:])
        train(net_copy, opt_copy, x[2:], y[2:])
        train(pickled_net, pickled_opt, x[2:], y[2:])
        assert same(net, net_copy) and same(net, pickled_net)

    def test_float64_and_mixed_dtype_groups_step(self, stack):
        net = model(torch.float64)
        train(net, HyperOptimizer(net.parameters(), stack), *data(2, torch.float64))
        mixed = model()
        mixed[2].double()
        opt = HyperOptimizer(mixed.parameters(), stack)
        for xi, yi in zip(*data(2)):
            opt.zero_grad()
            F.cross_entropy(mixed[2](mixed[1](mixed[0](xi)).double()), yi).backward()
            opt.step()
        assert all(torch.isfinite(p).all() for p in mixed.parameters())

    def test_a_model_cast_after_the_optimizer_was_made_is_followed(self, stack):
        net = model()
        opt = HyperOptimizer(net.parameters(), stack)
        train(net, opt, *data(1))
        net.double()
        train(net, opt, *data(2, torch.float64))
        assert opt.param_groups[0]["lr"].dtype == torch.float64

    def test_16_bit_parameters_are_refused_in_one_line(self, stack):
        with pytest.raises(ValueError, match="bfloat16.*16-bit"):
            HyperOptimizer(model(torch.bfloat16).parameters(), stack)
        net = model()
        opt = HyperOptimizer(net.parameters(), stack)
        net.half()
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
        with pytest.raises(ValueError, match="float16"):
            opt.step()

    def test_a_scheduler_warns_and_changes_nothing(self, stack):
        """lr is the learned step size: a scheduler's writes are overwritten at the next step, so training is the same without it."""
        x, y = data(3)
        net, plain = model(), model()
        opt = HyperOptimizer(net.parameters(), stack)
        scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
        with pytest.warns(UserWarning, match="learned step size"):
            for xi, yi in zip(x, y):
                opt.zero_grad()
                loss_of(net, xi, yi).backward()
                opt.step()
                scheduler.step()
        train(plain, HyperOptimizer(plain.parameters(), stack), x, y)
        assert same(net, plain)

    def test_grad_scaler_and_autocast(self, stack):
        net = model()
        opt = HyperOptimizer(net.parameters(), stack)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
        for xi, yi in zip(*data(2)):
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = loss_of(net, xi, yi)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in net.parameters())

    def test_complex_and_sparse_are_refused_naming_the_parameter(self, stack):
        complex_param = torch.nn.Parameter(torch.randn(3, dtype=torch.complex64))
        with pytest.raises(ValueError, match="parameter 0 of group 0 is complex"):
            HyperOptimizer([complex_param], stack)
        embedding = torch.nn.Embedding(10, 4, sparse=True)
        opt = HyperOptimizer(embedding.parameters(), stack)
        embedding(torch.tensor([1, 2])).sum().backward()
        with pytest.raises(ValueError, match="parameter 0 of group 0 has a sparse gradient"):
            opt.step()


@pytest.mark.parametrize("stack", [s for s in STACKS if s.endswith("/ sgd(alpha=1e-5)")])
def test_a_compiled_step_matches_the_eager_one(stack):
    """torch.compile(opt.step), gradients handed as fresh tensors (aot_eager: the functionalization inductor also runs,
    without its code generation, which only makes it slower), for every rule as the weight level under a hyper level: the
    stacks whose weight level keeps tangents between steps, where compiling once broke the in-place check."""
    torch._dynamo.reset()  # else, past its recompile limit, dynamo runs the step eagerly and checks nothing
    eager, compiled = model(), model()
    eager_opt, compiled_opt = HyperOptimizer(eager.parameters(), stack), HyperOptimizer(compiled.parameters(), stack)
    step = torch.compile(compiled_opt.step, backend="aot_eager")
    generator = torch.Generator().manual_seed(2)
    for _ in range(3):
        grads = [torch.randn(p.shape, generator=generator) for p in eager.parameters()]
        for net, run in ((eager, eager_opt.step), (compiled, step)):
            for p, g in zip(net.parameters(), grads):
                p.grad = g.clone()
            run()
    assert all(torch.allclose(p, q, rtol=1e-5, atol=1e-7) for p, q in zip(eager.parameters(), compiled.parameters()))



def test_a_bad_stack_is_refused_in_one_line():
    with pytest.raises(StackSpecError):
        HyperOptimizer(model().parameters(), "adam(alpha=-1)")


def test_adam_and_rmsprop_differ_from_torch_by_their_eps_as_documented():
    """The README's 'Differences from torch.optim': the reference starts Adam's second moment at eps and puts RMSProp's eps
    inside the square root, so small gradients move differently (20 steps, relative difference of the weights)."""
    def difference(ours_text, theirs, scale):
        torch.manual_seed(0)
        grads = [torch.randn(100, dtype=torch.float64) * scale for _ in range(20)]
        a, b = (torch.nn.Parameter(torch.zeros(100, dtype=torch.float64)) for _ in range(2))
        ours, torch_opt = HyperOptimizer([a], ours_text), theirs([b])
        for g in grads:
            a.grad, b.grad = g.clone(), g.clone()
            ours.step()
            torch_opt.step()
        return float((a - b).detach().norm() / b.detach().norm())
    adam = [difference("adam(alpha=0.001)", lambda p: torch.optim.Adam(p, lr=0.001), s) for s in (1.0, 1e-4)]
    rmsprop = [difference("rmsprop(alpha=0.01, gamma=0.99)", lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99), s) for s in (1.0, 1e-4)]
    assert adam[0] < 0.01 and adam[1] > 0.5 and rmsprop[0] < 0.01 and rmsprop[1] > 0.5


def test_a_parameter_without_gradient_counts_as_zero_gradient():
    """Documented difference from torch (README, 'Differences from torch.optim'): torch skips a parameter whose .grad is None;
    here it counts as gradient zero, so momentum keeps moving it."""
    frozen = torch.nn.Parameter(torch.ones(3))
    opt = HyperOptimizer([frozen], "sgd(alpha=0.1, mu=0.9)")
    frozen.grad = torch.ones(3)
    opt.step()
    after_one = frozen.detach().clone()
    frozen.grad = None
    opt.step()
    assert not torch.equal(frozen, after_one)


def test_every_optimizer_of_the_grammar_has_a_rule_or_a_package():
    """One record per optimizer: one without a rule must come from a package (else it fails here, not mid-sweep), and
    every rule the library defines is some optimizer's."""
    assert all((info.rule is None) == bool(info.package) for info in OPTIMIZERS.values())
    made = {type(make_rule(parse_stack(f"{BASE} / {_level(name)}")[1], parse_stack(BASE)[0])) for name in RULES}
    assert made == {rule for rule in vars(rules).values() if isinstance(rule, type) and issubclass(rule, rules.Rule) and rule is not rules.Rule}
