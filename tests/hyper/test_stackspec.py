import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.hyper.stackspec import (
    OPTIMIZERS,
    POSITIVE_RAW,
    LevelSpec,
    StackSpecError,
    format_stack,
    height,
    parse_stack,
)


def test_paper_notation_reads_with_defaults():
    stack = parse_stack("adam / sgd(1e-5)")
    assert [level.optimizer for level in stack] == ["adam", "sgd"]
    assert dict(stack[0].values) == {"alpha": 0.001, "beta1": 0.9, "beta2": 0.999}
    assert dict(stack[1].values) == {"alpha": 1e-5, "mu": 0.0}
    assert height(stack) == 1


def test_positional_then_keyword_and_weight_decay():
    stack = parse_stack("sgd(0.1, mu=0.9, wd=1e-4) / sgd_per_param(alpha=1e-5, mu=1e-5)")
    assert dict(stack[0].values) == {"alpha": 0.1, "mu": 0.9, "wd": 1e-4}
    assert stack[0].weight_decay == 1e-4
    assert stack[1].tuned == ("alpha", "mu")
    assert format_stack(stack) == "sgd(alpha=0.1, mu=0.9, wd=0.0001) / sgd_per_param(alpha=1e-05, mu=1e-05)"


def test_sgd_per_param_values_are_step_sizes_whatever_they_tune():
    stack = parse_stack("sgd(0.1, mu=0.5) / sgd_per_param(mu=2.0)")
    assert dict(stack[1].values) == {"mu": 2.0}
    with pytest.raises(StackSpecError, match="mu=-1 is out of its domain \\(a step size > 0\\)"):
        parse_stack("sgd(0.1, mu=0.5) / sgd_per_param(mu=-1)")


def test_fixed_hyperparameters_are_not_tuned():
    assert parse_stack("adam_alpha(0.001, 0.8)")[0].tuned == ("alpha",)
    assert parse_stack("rmsprop_alpha(gamma=0.9)")[0].value("gamma") == 0.9


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("adamw(0.1)", "unknown optimizer 'adamw'"),
        ("sgd(lr=0.1)", "sgd has no hyperparameter 'lr'"),
        ("adam(beta1=1.5)", "beta1=1.5 is out of its domain (0 < beta1 < 1)"),
        ("sgd(alpha=-0.1)", "alpha=-0.1 is out of its domain (alpha > 0)"),
        ("sgd(0)", "alpha=0 is out of its domain"),
        ("sgd(mu=1)", "0 <= mu < 1"),
        ("sgd(0.1", "expected ',' or ')', found the end"),
        ("sgd(0.1) /", "expected an optimizer name"),
        ("sgd(0.1) sgd", "expected '/' or the end, found 'sgd'"),
        ("sgd(0.1; 2)", "unexpected character ';'"),
        ("sgd(alpha=0.1, 0.2)", "positional value 0.2 after a keyword"),
        ("sgd(0.1, 0.2, 0.3)", "sgd takes at most 2 positional values"),
        ("sgd(alpha=0.1, alpha=0.2)", "alpha given twice"),
        ("sgd(alpha=x)", "expected a number for alpha, found 'x'"),
        ("sgd_per_param(alpha=0.1)", "cannot be the weight level"),
        ("sgd / sgd_per_param(beta1=0.1)", "names beta1, but the level below (sgd) learns only alpha, mu"),
        ("sgd / sgd_per_param", "sgd_per_param needs a step size"),
        ("sgd / sgd(wd=0.1)", "wd (weight decay) belongs to the weight level only"),
        ("", "empty"),
    ],
)
def test_malformed_specs_name_the_culprit(text, fragment):
    with pytest.raises(StackSpecError) as caught:
        parse_stack(text)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_error_points_at_the_column():
    with pytest.raises(StackSpecError, match="column 12"):
        parse_stack("adam(beta1=1.5)")


_VALUE = {
    "alpha": st.floats(1e-9, 10.0),
    "mu": st.floats(0.0, 0.999),
    "beta1": st.floats(0.001, 0.999),
    "beta2": st.floats(0.001, 0.999),
    "gamma": st.floats(0.001, 0.999),
    "d0": st.floats(1e-9, 10.0),
    "lr": st.floats(1e-9, 10.0),
    "r_eps": st.floats(1e-9, 10.0),
    "momentum": st.floats(0.001, 0.999),
    "warmup": st.integers(0, 1000).map(float),
}


@st.composite
def stacks(draw):
    packaged = [n for n, info in OPTIMIZERS.items() if info.package]
    if draw(st.integers(0, 5)) == 0:  # a learning-rate-free optimizer stands alone
        info = OPTIMIZERS[draw(st.sampled_from(packaged))]
        return (LevelSpec(info.name, tuple((n, draw(_VALUE[n])) for n in info.arguments)),)
    levels = []
    for depth in range(draw(st.integers(1, 5))):
        below = levels[-1] if levels else None
        if below is not None and below.tuned and draw(st.booleans()):
            tuned = draw(st.lists(st.sampled_from(below.tuned), min_size=1, unique=True))
            levels.append(LevelSpec("sgd_per_param", tuple((n, draw(st.floats(1e-9, 1.0))) for n in tuned)))
            continue
        names = [n for n in OPTIMIZERS if n != "sgd_per_param" and n not in packaged and (n != "relative" or below and below.optimizer in POSITIVE_RAW)]
        info = OPTIMIZERS[draw(st.sampled_from(names))]
        values = tuple((n, draw(_VALUE[n])) for n in info.arguments)
        if depth == 0 and draw(st.booleans()):
            values += (("wd", draw(st.floats(1e-9, 1.0))),)
        levels.append(LevelSpec(info.name, values))
    return tuple(levels)


@given(stacks())
def test_round_trip(stack):
    text = format_stack(stack)
    assert parse_stack(text) == stack
    assert format_stack(parse_stack(text)) == text


_GRAMMAR = st.sampled_from(["sgd", "adam", "adam_alpha", "rmsprop", "adagrad", "sgd_per_param", "alpha", "mu", "beta1", "wd", "gamma",
                            "(", ")", "/", ",", "=", " ", "0.1", "1e-5", "-1", "nan", "inf", "1e999", "0", "x", "", "()", "((", "é", "\x00"])


@given(st.one_of(st.text(max_size=60), st.lists(_GRAMMAR, max_size=20).map("".join)))
def test_any_text_is_a_stack_or_a_stack_spec_error(text):
    """Random text, and random strings of the grammar's own tokens: parsed, or refused with the parser's error, never anything else."""
    try:
        stack = parse_stack(text)
    except StackSpecError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert parse_stack(format_stack(stack)) == stack
