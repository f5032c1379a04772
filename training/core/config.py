"""What determines a run: its config, validated once, hashed, and logged with it.

A run is fully determined by (model, stack, epochs, batch size, seed, profile,
data slice, step-size schedule). The device and the tracking destination are recorded but are not
part of the identity: the same config on another device is the same
experiment, repeated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import cached_property

from training.baselines.packaged import MissingPackage, import_package
from training.core.benchmark import BENCHMARKS
from training.hyper.stackspec import Stack, StackSpecError, format_stack, parse_stack


class ConfigError(ValueError):
    """A user's mistake in a run's settings; the message is one line, for the command line."""


class Profile(StrEnum):
    """How far a job is scaled down: each benchmark record's data ``sizes`` and each study's ``PerProfile`` settings
    are keyed by it. Parsed once where a user gives it (``Profile.parse``) and passed down as this value; its text is
    what a run logs (and hashes) as its profile."""

    SMOKE = "smoke"
    CPU = "cpu"
    PAPER = "paper"

    @classmethod
    def parse(cls, text: str) -> Profile:
        """The profile named ``text``; ConfigError (one line, naming the choices) otherwise."""
        try:
            return cls(str(text).strip())
        except ValueError:
            raise ConfigError(f"unknown profile {text!r}; expected one of {', '.join(cls)}") from None

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    @property
    def published(self) -> bool:
        """Whether this is the published protocol in full (every other profile departs from it)."""
        return self is Profile.PAPER

    def size(self, model: str) -> tuple[int | None, int | None]:
        """(train, test) examples of ``model``'s data, None = all; images, or characters for text."""
        return BENCHMARKS[model].sizes[self]


_DESCRIPTIONS = {
    Profile.SMOKE: "seconds: slices of the data (MLP 2,048 training images), for tests",
    Profile.CPU: "sized for 2 CPU cores: full MNIST; ResNet-20 on 2,560 training / 1,000 test images; "
                 "char-LSTM on the first 375,000 training / 20,000 test characters",
    Profile.PAPER: "the published protocol in full",
}

@dataclass(frozen=True)
class RunConfig:
    model: str
    stack: str
    epochs: int
    batch_size: int
    seed: int
    profile: Profile
    train_size: int | None
    test_size: int | None
    schedule: str = ""  # a hand-made step-size schedule ("step:100,150"), height-0 stacks only

    @cached_property
    def levels(self) -> Stack:
        """The parsed stack (parsed once per config: ``make_config`` seeds it)."""
        return parse_stack(self.stack)

    def identity(self) -> dict:
        """The fields that determine the run's results.

        An unset schedule is left out, so configs without one keep the hashes
        they had before schedules existed (finished runs stay finished).
        """
        fields = asdict(self)
        if not self.schedule:
            del fields["schedule"]
        return fields

    @property
    def config_hash(self) -> str:
        """A stable 16-hex-digit digest of ``identity()``."""
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_params(self) -> dict[str, str]:
        """MLflow params: every field as text (None as 'all')."""
        return {key: "all" if value is None else str(value) for key, value in self.identity().items()}


MAX_SEEDS = 1000  # seeds per config: a plan of a billion seeds grew to 24 GB before the kernel killed it
MAX_WORKERS = 256


def parse_number(name: str, value, minimum: float, whole: bool = True, maximum: float | None = None) -> int | float:
    """A user's number (text or number), checked: ConfigError naming ``name`` otherwise."""
    try:
        number = int(str(value).strip()) if whole else float(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a {'whole ' if whole else ''}number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {number:g}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum:g}, got {number:g}")
    return number


def parse_count(name: str, value: str | None, minimum: int, maximum: int | None = None) -> int | None:
    """A whole number in [minimum, maximum], or None for '' / 'default'."""
    return None if value in (None, "", "default") else parse_number(name, value, minimum, maximum=maximum)


def default_epochs(profile: Profile, model: str, levels: Stack, by_optimizer: Mapping[str, int]) -> int:
    """Epochs when the user says 'auto': 1 for smoke, else the benchmark's own count, else ``by_optimizer``'s count for
    the weight level's optimizer (a paper's published counts); ConfigError asking for a number when there is none."""
    if profile == Profile.SMOKE:
        return 1
    if BENCHMARKS[model].epochs:
        return BENCHMARKS[model].epochs
    if levels[0].optimizer not in by_optimizer:
        raise ConfigError(f"no published epoch count for {levels[0].optimizer} on {model}: give the epochs (--epochs N, -P epochs=N)")
    return by_optimizer[levels[0].optimizer]


def parse_schedule(text: str, levels: Stack) -> str:
    """Canonical ``step:E1,E2,...`` (alpha divided by 10 after each listed epoch), or ''."""
    text = (text or "").strip()
    if not text or text == "none":
        return ""
    kind, _, rest = text.partition(":")
    try:
        epochs = sorted(int(part) for part in rest.split(","))
    except ValueError:
        epochs = []
    if kind != "step" or not epochs or epochs[0] < 1:
        raise ConfigError(f"schedule must look like 'step:100,150' (divide alpha by 10 after those epochs), got {text!r}")
    if len(levels) > 1 or "alpha" not in levels[0].tuned:
        raise ConfigError("a schedule applies to a plain optimizer with a step size alpha (a stack of height 0)")
    return "step:" + ",".join(map(str, epochs))


def schedule_factor(schedule: str, epoch: int) -> float:
    """Multiplier of the initial alpha during ``epoch`` (1-based) under a 'step:...' schedule."""
    passed = sum(1 for boundary in schedule.partition(":")[2].split(",") if epoch > int(boundary))
    return 0.1**passed


def require_package(levels: Stack) -> None:
    """Training a learning-rate-free optimizer needs its package (describing a run does not): ConfigError naming the extra."""
    if levels[0].info.package:
        try:
            import_package(levels[0].optimizer)
        except MissingPackage as error:
            raise ConfigError(str(error)) from None


def make_config(model: str = "mlp", stack: str = "sgd(alpha=0.01)", epochs: int | str = "auto", seed: int | str = 0,
                profile: Profile | str = Profile.CPU, batch_size: int | str | None = None, schedule: str = "",
                epochs_by_optimizer: Mapping[str, int] | None = None) -> RunConfig:
    """A validated RunConfig from user-facing values; raises ConfigError naming what is wrong.

    ``epochs='auto'``: see ``default_epochs`` (``epochs_by_optimizer``: a paper's published counts, if it has any).
    """
    if model not in BENCHMARKS:
        raise ConfigError(f"unknown model {model!r}; expected one of {', '.join(BENCHMARKS)}")
    profile = Profile.parse(profile)
    try:
        levels = parse_stack(stack)
    except StackSpecError as error:
        raise ConfigError(str(error)) from None
    epochs = default_epochs(profile, model, levels, epochs_by_optimizer or {}) if str(epochs).strip() == "auto" else parse_number("epochs", epochs, 1)
    batch = BENCHMARKS[model].batch_size if batch_size in (None, "", "auto") else parse_number("batch_size", batch_size, 1)
    train_size, test_size = profile.size(model)
    config = RunConfig(
        model=model,
        stack=format_stack(levels),
        epochs=epochs,
        batch_size=batch,
        seed=parse_number("seed", seed, 0),
        profile=profile,
        train_size=train_size,
        test_size=test_size,
        schedule=parse_schedule(schedule, levels),
    )
    config.__dict__["levels"] = levels  # the cached parse: the canonical text parses to the same levels
    return config
