"""Hyperoptimizer stacks written like the paper: ``adam(alpha=0.001) / sgd(1e-5)``.

A stack is read bottom-up: the leftmost level updates the model weights, each
level to its right updates the hyperparameters of the level to its left. This
module turns text into validated data and back, and keeps one record per optimizer (``OPTIMIZERS``: its
hyperparameters, defaults and update rule); the arithmetic lives in ``training.hyper.rules`` and
``training.hyper.stack``.

Grammar (white space is free)::

    stack  := level ("/" level)*
    level  := NAME [ "(" [ arg ("," arg)* ] ")" ]
    arg    := NUMBER | NAME "=" NUMBER        (positional args come first)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from training.hyper import rules


class StackSpecError(ValueError):
    """A stack specification that cannot be read; the message names the culprit."""


@dataclass(frozen=True)
class OptimizerInfo:
    """One optimizer a stack may name: everything the toolkit keeps about it.

    ``tuned`` are the hyperparameters the level above may learn, in positional
    order; ``fixed`` are constants that a level above leaves alone. ``rule``: its update
    rule, built from (its level, the level it tunes or None). ``package``: the PyPI
    package a learning-rate-free optimizer comes from instead (``training.baselines``
    runs it); such an optimizer sets its own step size and stands alone in a stack.
    """

    name: str
    tuned: tuple[str, ...]
    fixed: tuple[str, ...]
    defaults: dict[str, float]
    rule: Callable[[LevelSpec, LevelSpec | None], rules.Rule] | None = None
    package: str | None = None
    positive_raw: bool = False  # its raw hyperparameters are all positive, so that a relative level may scale them (rules.Relative)

    @property
    def arguments(self) -> tuple[str, ...]:
        return self.tuned + self.fixed


# Defaults are those of the reference package (gdtuo 1.0).
OPTIMIZERS: dict[str, OptimizerInfo] = {
    info.name: info
    for info in (
        OptimizerInfo("sgd", ("alpha", "mu"), (), {"alpha": 0.01, "mu": 0.0}, lambda spec, below: rules.SGD(spec), positive_raw=True),
        OptimizerInfo("sgd_per_param", (), (), {}, rules.SGDPerParam, positive_raw=True),
        # ours (not in gdtuo): torch's Nesterov momentum with a fixed mu, Baydin et al. 2018's SGDN (see rules.SGDNesterov)
        OptimizerInfo("sgd_nesterov", ("alpha",), ("mu",), {"alpha": 0.01, "mu": 0.9}, lambda spec, below: rules.SGDNesterov(spec),
                      positive_raw=True),
        OptimizerInfo("adagrad", ("alpha",), (), {"alpha": 0.01}, lambda spec, below: rules.AdaGrad(spec), positive_raw=True),
        OptimizerInfo("rmsprop", ("alpha", "gamma"), (), {"alpha": 0.01, "gamma": 0.99}, lambda spec, below: rules.RMSProp(spec, alpha_only=False)),
        OptimizerInfo("rmsprop_alpha", ("alpha",), ("gamma",), {"alpha": 0.01, "gamma": 0.99},
                      lambda spec, below: rules.RMSProp(spec, alpha_only=True), positive_raw=True),
        OptimizerInfo("adam", ("alpha", "beta1", "beta2"), (), {"alpha": 0.001, "beta1": 0.9, "beta2": 0.999},
                      lambda spec, below: rules.Adam(spec, alpha_only=False)),
        OptimizerInfo("adam_alpha", ("alpha",), ("beta1", "beta2"), {"alpha": 0.001, "beta1": 0.9, "beta2": 0.999},
                      lambda spec, below: rules.Adam(spec, alpha_only=True), positive_raw=True),
        # ours (not in gdtuo): a hyper level that moves each target by a relative step of about alpha (see rules.Relative)
        OptimizerInfo("relative", ("alpha",), ("gamma",), {"alpha": 0.01, "gamma": 0.99}, lambda spec, below: rules.Relative(spec),
                      positive_raw=True),
        # learning-rate-free optimizers, from their packages, with the packages' defaults
        OptimizerInfo("prodigy", (), ("d0", "lr"), {"d0": 1e-6, "lr": 1.0}, package="prodigyopt"),
        OptimizerInfo("dadapt_adam", (), ("d0", "lr"), {"d0": 1e-6, "lr": 1.0}, package="dadaptation"),
        OptimizerInfo("dog", (), ("r_eps", "lr"), {"r_eps": 1e-6, "lr": 1.0}, package="dog-optimizer"),
        OptimizerInfo("sgd_schedulefree", (), ("alpha", "momentum", "warmup"), {"alpha": 1.0, "momentum": 0.9, "warmup": 0.0},
                      package="schedulefree"),
    )
}
POSITIVE_RAW = tuple(name for name, info in OPTIMIZERS.items() if info.positive_raw)

# Weight decay is a fixed option of the weight level only (ResNet-20 needs 1e-4).
WEIGHT_DECAY = "wd"

_DOMAINS: dict[str, tuple[str, callable]] = {
    "alpha": ("alpha > 0", lambda x: x > 0),
    "mu": ("0 <= mu < 1", lambda x: 0 <= x < 1),
    "beta1": ("0 < beta1 < 1", lambda x: 0 < x < 1),
    "beta2": ("0 < beta2 < 1", lambda x: 0 < x < 1),
    "gamma": ("0 < gamma < 1", lambda x: 0 < x < 1),
    WEIGHT_DECAY: ("wd >= 0", lambda x: x >= 0),
    "d0": ("d0 > 0", lambda x: x > 0),
    "lr": ("lr > 0", lambda x: x > 0),
    "r_eps": ("r_eps > 0", lambda x: x > 0),
    "momentum": ("0 < momentum < 1", lambda x: 0 < x < 1),
    "warmup": ("a whole number of steps >= 0", lambda x: x >= 0 and float(x).is_integer()),
}
_PER_PARAM_DOMAIN = ("a step size > 0", lambda x: x > 0)


@dataclass(frozen=True)
class LevelSpec:
    """One optimizer of a stack with every argument spelled out."""

    optimizer: str
    values: tuple[tuple[str, float], ...]

    @property
    def info(self) -> OptimizerInfo:
        return OPTIMIZERS[self.optimizer]

    def value(self, name: str) -> float:
        return dict(self.values)[name]

    @property
    def tuned(self) -> tuple[str, ...]:
        """Names of the hyperparameters that the level above learns, in order."""
        if self.optimizer == "sgd_per_param":
            return tuple(name for name, _ in self.values)
        return self.info.tuned

    @property
    def weight_decay(self) -> float:
        return dict(self.values).get(WEIGHT_DECAY, 0.0)


Stack = tuple[LevelSpec, ...]


def make_rule(spec: LevelSpec, below: LevelSpec | None) -> rules.Rule:
    """The rule for ``spec``; ``below`` is the level it tunes (None for the weight level)."""
    if spec.info.rule is not None:
        return spec.info.rule(spec, below)
    raise ValueError(f"{spec.optimizer} is a learning-rate-free optimizer from the {spec.info.package} package, not a hyperoptimizer "
                     "rule: use the package's optimizer directly (training.baselines runs it in this project's loop)")

_TOKEN = re.compile(
    r"\s*(?:(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[()/,=])|(?P<bad>\S))"
)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    """Split ``text`` into (kind, token, position) triples, ending with ('end', '', len)."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        token = match.group(kind)
        position = match.start(kind)
        if kind == "bad":
            raise StackSpecError(_where(text, position, f"unexpected character {token!r}"))
        tokens.append((kind, token, position))
    tokens.append(("end", "", len(text.rstrip())))
    return tokens


def _where(text: str, position: int, message: str) -> str:
    return f"bad stack {text!r} at column {position + 1}: {message}"


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.index]

    def take(self, expected: str) -> tuple[str, str, int]:
        kind, token, position = self.peek()
        if token != expected and kind != expected:
            found = repr(token) if token else "the end"
            raise self.error(position, f"expected {expected!r}, found {found}")
        self.index += 1
        return kind, token, position

    def error(self, position: int, message: str) -> StackSpecError:
        return StackSpecError(_where(self.text, position, message))

    def stack(self) -> Stack:
        levels = [self.level()]
        while self.peek()[1] == "/":
            self.take("/")
            levels.append(self.level())
        kind, token, position = self.peek()
        if kind != "end":
            raise self.error(position, f"expected '/' or the end, found {token!r}")
        return tuple(levels)

    def level(self) -> LevelSpec:
        kind, name, position = self.peek()
        if kind != "name":
            found = repr(name) if name else "the end"
            raise self.error(position, f"expected an optimizer name ({', '.join(OPTIMIZERS)}), found {found}")
        if name not in OPTIMIZERS:
            raise self.error(position, f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
        self.index += 1
        info = OPTIMIZERS[name]
        given: dict[str, float] = {}
        if self.peek()[1] == "(":
            self.take("(")
            given = self.arguments(info)
            self.take(")")
        if name == "sgd_per_param" and not given:
            raise self.error(position, "sgd_per_param needs a step size per hyperparameter, e.g. sgd_per_param(alpha=1e-5, mu=1e-5)")
        if given.get(WEIGHT_DECAY) == 0:
            del given[WEIGHT_DECAY]  # no decay is the default: keep one spelling of it
        values = {**info.defaults, **given}
        ordered = [(key, values[key]) for key in info.arguments]
        ordered += [(key, values[key]) for key in given if key not in info.arguments]
        return LevelSpec(name, tuple(ordered))

    def arguments(self, info: OptimizerInfo) -> dict[str, float]:
        given: dict[str, float] = {}
        positional = True
        while self.peek()[1] != ")":
            if given:
                kind, token, position = self.peek()
                if token != ",":
                    found = repr(token) if token else "the end"
                    raise self.error(position, f"expected ',' or ')', found {found}")
                self.index += 1
            kind, token, position = self.peek()
            if kind == "name":
                self.index += 1
                self.take("=")
                key, positional = token, False
                self.check_key(info, key, position)
            elif kind == "number" and positional:
                if len(given) >= len(info.arguments):
                    raise self.error(position, f"{info.name} takes at most {len(info.arguments)} positional values ({', '.join(info.arguments)})")
                key = info.arguments[len(given)]
            elif kind == "number":
                raise self.error(position, f"positional value {token} after a keyword argument")
            else:
                found = repr(token) if token else "the end"
                raise self.error(position, f"expected a number or NAME=NUMBER, found {found}")
            if key in given:
                raise self.error(position, f"{key} given twice")
            given[key] = self.number(info, key)
        return given

    def check_key(self, info: OptimizerInfo, key: str, position: int) -> None:
        if info.name == "sgd_per_param" or key == WEIGHT_DECAY or key in info.arguments:
            return
        raise self.error(position, f"{info.name} has no hyperparameter {key!r}; expected one of {', '.join(info.arguments + (WEIGHT_DECAY,))}")

    def number(self, info: OptimizerInfo, key: str) -> float:
        kind, token, position = self.peek()
        if kind != "number":
            found = repr(token) if token else "the end"
            raise self.error(position, f"expected a number for {key}, found {found}")
        self.index += 1
        value = float(token)
        # sgd_per_param's keys name the hyperparameters below; its values are step sizes
        description, inside = _PER_PARAM_DOMAIN if info.name == "sgd_per_param" else _DOMAINS[key]
        if not math.isfinite(value) or not inside(value):
            raise self.error(position, f"{key}={token} is out of its domain ({description})")
        return value


def _check_levels(text: str, stack: Stack) -> None:
    """Rules that involve two levels: what sgd_per_param and relative tune, where weight decay and package optimizers may go."""
    for depth, level in enumerate(stack):
        if level.info.package and len(stack) > 1:
            raise StackSpecError(f"bad stack {text!r}: {level.optimizer} (from the {level.info.package} package) sets its own step size; "
                                 "it stands alone, with no hyper level above it and not as one")
        if level.optimizer == "relative" and (depth == 0 or stack[depth - 1].optimizer not in POSITIVE_RAW):
            below = "the weights" if depth == 0 else f"{stack[depth - 1].optimizer}, whose hyperparameters are not all positive"
            raise StackSpecError(f"bad stack {text!r}: relative scales positive hyperparameters; at level {depth} it would tune {below} "
                                 f"(it may sit above {', '.join(POSITIVE_RAW)})")
        if depth > 0 and WEIGHT_DECAY in dict(level.values):
            raise StackSpecError(f"bad stack {text!r}: wd (weight decay) belongs to the weight level only, found at level {depth} ({level.optimizer})")
        if level.optimizer != "sgd_per_param":
            continue
        if depth == 0:
            raise StackSpecError(f"bad stack {text!r}: sgd_per_param tunes hyperparameters and cannot be the weight level")
        below = stack[depth - 1]
        unknown = [name for name, _ in level.values if name not in below.tuned]
        if unknown:
            raise StackSpecError(
                f"bad stack {text!r}: sgd_per_param at level {depth} names {', '.join(unknown)}, "
                f"but the level below ({below.optimizer}) learns only {', '.join(below.tuned) or 'nothing'}"
            )


MAX_LEVELS = 101  # height 100: its canonical text stays within MLflow's 6,000 characters for a param (a 3,001-level stack was cut)


def parse_stack(text: str) -> Stack:
    """Read a stack such as ``'sgd(0.1, mu=0.9) / sgd_per_param(alpha=1e-5, mu=1e-5)'``.

    Raises StackSpecError naming the offending token and what was expected.
    """
    if not isinstance(text, str) or not text.strip():
        raise StackSpecError("bad stack: empty; expected e.g. 'sgd(alpha=0.01) / sgd(alpha=0.01)'")
    if text.count("/") >= MAX_LEVELS:
        raise StackSpecError(f"bad stack: {text.count('/') + 1} levels; at most {MAX_LEVELS} (height {MAX_LEVELS - 1})")
    stack = _Parser(text).stack()
    _check_levels(text, stack)
    return stack


def format_number(value: float) -> str:
    """Shortest text that reads back as exactly ``value``."""
    return repr(float(value))


def format_level(level: LevelSpec) -> str:
    """Canonical text of one level, every argument named (weight decay only when set)."""
    parts = [f"{name}={format_number(value)}" for name, value in level.values if not (name == WEIGHT_DECAY and value == 0)]
    return f"{level.optimizer}({', '.join(parts)})"


def format_stack(stack: Stack) -> str:
    """Canonical text of a stack; ``parse_stack(format_stack(s)) == s``."""
    return " / ".join(format_level(level) for level in stack)


def height(stack: Stack) -> int:
    """The paper's height: the number of hyperoptimizer levels above the weight level."""
    return len(stack) - 1
