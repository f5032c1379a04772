"""Hyperoptimizer stacks as a library: the stack-spec grammar, the update rules, ``HyperStack``, and
``HyperOptimizer``, the drop-in ``torch.optim.Optimizer``.

Depends on torch alone, so it can be used outside hyperclaims' training loop:

    from training.hyper import HyperOptimizer
    opt = HyperOptimizer(model.parameters(), stack="adam(alpha=1e-3) / sgd(alpha=1e-5)")

or, on weights the caller holds as plain tensors:

    from training.hyper import HyperStack, parse_stack
    stack = HyperStack(parse_stack("adam(alpha=1e-3) / sgd(alpha=1e-5)"), weights[0])
    weights = stack.step(weights, grads)
"""

from training.hyper.optimizer import HyperOptimizer
from training.hyper.rules import Rule, Update
from training.hyper.stack import HyperStack
from training.hyper.stackspec import LevelSpec, Stack, StackSpecError, format_stack, make_rule, parse_stack

__all__ = ["HyperOptimizer", "HyperStack", "LevelSpec", "Rule", "Stack", "StackSpecError", "Update", "format_stack", "make_rule", "parse_stack"]
