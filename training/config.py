"""What determines a run: its config, validated once, hashed, and logged with it.

A run is fully determined by (model, stack, epochs, batch size, seed, profile,
data slice). The device and the tracking destination are recorded but are not
part of the identity: the same config on another device is the same
experiment, repeated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from training.models import MODELS
from training.stackspec import StackSpecError, format_stack, parse_stack


class ConfigError(ValueError):
    """A user's mistake in a run's settings; the message is one line, for the command line."""


@dataclass(frozen=True)
class Profile:
    """How much of the data a profile uses; None means all of it."""

    name: str
    train_size: int | None
    test_size: int | None
    description: str


PROFILES = {
    "smoke": Profile("smoke", 2048, 1000, "seconds: a 2,048-image training slice and 1,000 test images, for tests"),
    "cpu": Profile("cpu", None, None, "real full data, studies sized for 2 CPU cores"),
    "paper": Profile("paper", None, None, "the published protocol in full"),
}

# [P] trains the SGD and AdaGrad families for 30 epochs, Adam and RMSProp for 5.
_PAPER_EPOCHS = {"sgd": 30, "adagrad": 30, "adam": 5, "adam_alpha": 5, "rmsprop": 5, "rmsprop_alpha": 5}
BATCH_SIZE = {"mlp": 256}


@dataclass(frozen=True)
class RunConfig:
    model: str
    stack: str
    epochs: int
    batch_size: int
    seed: int
    profile: str
    train_size: int | None
    test_size: int | None

    def identity(self) -> dict:
        """The fields that determine the run's results."""
        return asdict(self)

    @property
    def config_hash(self) -> str:
        """A stable 16-hex-digit digest of ``identity()``."""
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_params(self) -> dict[str, str]:
        """MLflow params: every field as text (None as 'all')."""
        return {key: "all" if value is None else str(value) for key, value in self.identity().items()}


def _parse_int(name: str, value, minimum: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}")
    return number


def default_epochs(profile: str, stack: str) -> int:
    """Epochs when the user says 'auto': 1 for smoke, else the paper's count for the weight optimizer."""
    if profile == "smoke":
        return 1
    return _PAPER_EPOCHS[parse_stack(stack)[0].optimizer]


def make_config(model: str = "mlp", stack: str = "sgd(alpha=0.01)", epochs: int | str = "auto", seed: int | str = 0,
                profile: str = "cpu", batch_size: int | str | None = None) -> RunConfig:
    """A validated RunConfig from user-facing values; raises ConfigError naming what is wrong."""
    if model not in MODELS:
        raise ConfigError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    try:
        canonical = format_stack(parse_stack(stack))
    except StackSpecError as error:
        raise ConfigError(str(error)) from None
    epochs = default_epochs(profile, canonical) if str(epochs).strip() == "auto" else _parse_int("epochs", epochs, 1)
    batch = BATCH_SIZE[model] if batch_size in (None, "", "auto") else _parse_int("batch_size", batch_size, 1)
    chosen = PROFILES[profile]
    return RunConfig(
        model=model,
        stack=canonical,
        epochs=epochs,
        batch_size=batch,
        seed=_parse_int("seed", seed, 0),
        profile=profile,
        train_size=chosen.train_size,
        test_size=chosen.test_size,
    )
