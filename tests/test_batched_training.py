"""Training steps in batched mode (issue 17): the optimizers' array path against the same steps taken
one example at a time in eager mode, with a parameter shared between layers, a value set by hand
between steps, a model changed after the first step, and SGD (momentum, weight decay) and Adam.

Batched gradients sum over the examples in matrix products, eager ones one example after another: the
same terms in another order, so parameters agree to 1e-12 relative after a few steps, not bit for bit.
The compiled batched graph replays the batched executor and agrees with it bit for bit.
"""

import pytest

import autodiff
import nn
from autodiff.batched import batch, batch_columns
from nn.data import make_moons

OPTIMIZERS = {
    "SGD momentum, weight decay": lambda ps: nn.SGD(ps, lr=0.2, momentum=0.9, weight_decay=1e-3),
    "SGD": lambda ps: nn.SGD(ps, lr=0.3),
    "Adam, weight decay": lambda ps: nn.Adam(ps, lr=0.02, weight_decay=1e-2),
}


def _data(n=24):
    X, y = make_moons(n, 0.1, rng=3)
    return X, 2.0 * y - 1.0


def _model(batched: bool, shared: bool):
    model = nn.MLP(2, [6, 5, 1], rng=2, fused=batched)
    if shared:   # one Value in two layers: its gradient is the sum of both uses
        model.layers[1].neurons[2].w[3] = model.layers[0].neurons[1].w[0]
    return model


def _loss(model, batched: bool, X, y):
    if batched:
        return nn.mean(nn.hinge(model(batch_columns(X)), [batch(y)])) + nn.l2(model.weights(), 1e-3)
    scores = [model(x)[0] for x in X.tolist()]
    return (nn.mean([nn.hinge(s, t) for s, t in zip(scores, y.tolist(), strict=True)])
            + nn.l2(model.weights(), 1e-3))


def _train(batched: bool, make_opt, shared=False, steps=3, by_hand=None):
    X, y = _data()
    model = _model(batched, shared)
    opt = make_opt(model.parameters())
    for step in range(steps):
        if by_hand is not None and step == 1:
            by_hand(model)
        loss = _loss(model, batched, X, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def _close(a, b):
    pa, pb = [p.data for p in a.parameters()], [p.data for p in b.parameters()]
    assert pa == pytest.approx(pb, rel=1e-12, abs=1e-14)
    return pa


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("shared", [False, True], ids=["own", "shared"])
def test_batched_steps_equal_eager_steps_one_example_at_a_time(name, shared):
    batched = _train(True, OPTIMIZERS[name], shared)
    eager = _train(False, OPTIMIZERS[name], shared)
    start = [p.data for p in _model(False, shared).parameters()]
    moved = _close(batched, eager)
    assert sum(a != b for a, b in zip(moved, start, strict=True)) > 0.9 * len(start)
    if shared:
        assert batched.layers[1].neurons[2].w[3] is batched.layers[0].neurons[1].w[0]


def test_a_shared_parameter_gets_both_uses_gradient():
    X, y = _data()
    for batched in (True, False):
        model = _model(batched, True)
        _loss(model, batched, X, y).backward()
        w = model.layers[0].neurons[1].w[0]
        # the unshared model with the second weight given the first's value: the same function
        twin = _model(batched, False)
        twin.layers[1].neurons[2].w[3].data = twin.layers[0].neurons[1].w[0].data
        _loss(twin, batched, X, y).backward()
        both = twin.layers[0].neurons[1].w[0].grad + twin.layers[1].neurons[2].w[3].grad
        assert w.grad == pytest.approx(both, rel=1e-12)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_value_set_by_hand_between_steps_is_used(name):
    def by_hand(model):
        model.layers[0].neurons[0].w[1].data = 0.75
        model.layers[2].neurons[0].b.data = -0.25
    batched = _train(True, OPTIMIZERS[name], by_hand=by_hand)
    eager = _train(False, OPTIMIZERS[name], by_hand=by_hand)
    untouched = _train(True, OPTIMIZERS[name])
    _close(batched, eager)
    assert batched.layers[0].neurons[0].w[1].data != untouched.layers[0].neurons[0].w[1].data


def test_a_model_changed_after_the_first_step_trains_its_new_parameters():
    X, y = _data()
    models = []
    for batched in (True, False):
        model = _model(batched, False)
        opt = nn.SGD(model.parameters(), lr=0.2, momentum=0.9)
        for step in range(3):
            if step == 1:   # a layer replaced: a new optimizer over the model's parameters as they are now
                old = model.layers[1].parameters()
                model.layers[1] = nn.Layer(6, 5, rng=9, fused=batched)
                opt = nn.SGD(model.parameters(), lr=0.2, momentum=0.9)
                kept = [p.data for p in old]
            loss = _loss(model, batched, X, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert [p.data for p in old] == kept                      # the replaced layer is left alone
        fresh = [p.data for p in nn.Layer(6, 5, rng=9).parameters()]
        assert all(a != b for a, b in zip(model.layers[1].parameters(), fresh, strict=True))
        models.append(model)
    _close(*models)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_compiled_batched_training_equals_the_graph_built_each_step_to_the_bit(name):
    X, y = _data()
    runs = []
    for compiled in (False, True):
        model = _model(True, True)
        opt = OPTIMIZERS[name](model.parameters())
        program = autodiff.compile(_loss(model, True, X, y)) if compiled else None
        for _ in range(4):
            if compiled:
                program.forward()
                opt.zero_grad()
                program.backward()
            else:
                loss = _loss(model, True, X, y)
                opt.zero_grad()
                loss.backward()
            opt.step()
        runs.append([p.data.hex() for p in model.parameters()])
    assert runs[0] == runs[1]
