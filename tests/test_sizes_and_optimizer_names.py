"""Sizes no machine could hold are refused before anything is built, and the optimizers' refusals start
with the optimizer's name (issue 17's leftovers, noticed by the session that closed it: ``MLP(10**400,
[2])`` and ``make_moons(10**400)`` took the int and hung, or failed deep in numpy; ``SGD(params,
lr=-1)`` said "lr must be ..." without saying whose)."""

import re
import time

import pytest

import nn
from autodiff import Value
from nn._sizes import PARAMETER_BYTES, check_fits, physical_memory
from nn.data import make_moons

pytestmark = pytest.mark.skipif(physical_memory() is None, reason="the platform does not say its memory")

TOO_MANY = [   # (what is built, who refuses, how many parameters or points it asks for)
    (lambda: nn.MLP(10**400, [2]), "MLP", "1e+400 parameters"),
    (lambda: nn.MLP(10**8, [2]), "MLP", "200,000,002 parameters"),
    (lambda: nn.MLP(2, [16, 10**9, 1]), "MLP", "18,000,000,049 parameters"),
    (lambda: nn.MLP(10**5, [2**60]), "MLP", "1.15e+23 parameters"),
    (lambda: nn.Layer(3, 10**9), "Layer", "4,000,000,000 parameters"),
    (lambda: nn.Neuron(10**12), "Neuron", "1,000,000,000,001 parameters"),
    (lambda: make_moons(10**400), "make_moons", "1e+400 points"),
    (lambda: make_moons(10**12), "make_moons", "1,000,000,000,000 points"),
]


@pytest.mark.parametrize("build,who,count", TOO_MANY)
def test_a_size_beyond_the_machines_memory_is_refused_at_once_saying_what_it_would_take(build, who, count):
    start = time.process_time()
    with pytest.raises(ValueError, match=rf"^{who}: {re.escape(count)} would take [0-9.e+]+ [KMGT]?B of "
                                         r"memory, more than this machine's [0-9.]+ [KMGT]?B; ") as refused:
        build()
    assert time.process_time() - start < 1.0, "refused before building anything"
    assert "choose smaller" in str(refused.value) or "choose a smaller" in str(refused.value)


def test_what_fits_is_built_as_before():
    memory = physical_memory()
    most = memory // PARAMETER_BYTES
    check_fits("MLP", most, "parameters", PARAMETER_BYTES, "")   # the largest that fits: no error
    with pytest.raises(ValueError, match="^MLP: "):
        check_fits("MLP", most + 1, "parameters", PARAMETER_BYTES, "")
    assert len(nn.MLP(2, [16, 16, 1], rng=0).parameters()) == 337
    X, y = make_moons(100, rng=0)
    assert X.shape == (100, 2) and y.shape == (100,)


OPTIMIZERS = [   # (the call, the words after the optimizer's name)
    (lambda p: nn.SGD(p, lr=-1), "SGD: lr must be a finite number > 0.0, got -1"),
    (lambda p: nn.SGD(p, lr=0.1, momentum=1.5), "SGD: momentum must be a finite number >= 0.0 and < 1.0"),
    (lambda p: nn.SGD(p, lr=0.1, weight_decay=float("nan")), "SGD: weight_decay must be a finite number"),
    (lambda p: nn.Adam(p, lr=10**400), "Adam: lr must be a finite number > 0.0, got an int of about 401"),
    (lambda p: nn.Adam(p, betas=(0.9,)), "Adam: betas must be a pair (beta1, beta2)"),
    (lambda p: nn.Adam(p, betas=(0.9, 1.0)), "Adam: betas[1] must be a finite number >= 0.0 and < 1.0"),
    (lambda p: nn.Adam(p, eps=0), "Adam: eps must be a finite number > 0.0, got 0"),
]


@pytest.mark.parametrize("make,words", OPTIMIZERS)
def test_an_optimizer_refuses_in_its_own_name(make, words):
    with pytest.raises(ValueError, match="^" + re.escape(words)):
        make([Value(1.0)])


@pytest.mark.parametrize("cls", [nn.SGD, nn.Adam])
def test_a_learning_rate_set_between_steps_is_refused_in_the_optimizers_name(cls):
    opt = cls([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: lr must be a finite number > 0.0, got inf"):
        opt.lr = float("inf")
    assert opt.lr == 0.1


@pytest.mark.parametrize("cls", [nn.SGD, nn.Adam])
def test_an_optimizer_given_a_model_one_value_or_nothing_says_what_to_pass(cls):
    """A final tester (qa14k): SGD(model) failed with Python's bare "'MLP' object is not iterable", and
    SGD([]) was accepted, a step then updating nothing."""
    model = nn.MLP(2, [3, 1], rng=0)
    name = cls.__name__
    with pytest.raises(TypeError, match=rf"^{name}: params must be an iterable of Values, got MLP; pass "
                                        r"model\.parameters\(\)$"):
        cls(model, lr=0.1)
    with pytest.raises(TypeError, match=rf"^{name}: params must be an iterable of Values, got Value; "):
        cls(Value(1.0), lr=0.1)
    for empty in ([], (), iter([])):
        with pytest.raises(ValueError, match=rf"^{name}: params is empty, so a step would update nothing"):
            cls(empty, lr=0.1)
    assert len(cls(model.parameters(), lr=0.1).params) == 13
