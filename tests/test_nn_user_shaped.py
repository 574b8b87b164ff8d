"""The pieces of a training step as users write it, made cheap (issue 17) without changing a number:
`Module.parameters()`/`weights()` read the model as it is now, without building names; `nn.l2` is
one node (λ/2 Σx², the sum_squares row with a scale), to the bit in every mode, and the steppers show
it as one."""

import random

import numpy as np

import nn
from autodiff import PRIMITIVES, Value, backward_steps, topological_order
from autodiff.steps import local_derivative_text, node_names


def named(model, biases=True):
    return [p for name, p in model.named_parameters() if biases or not name.endswith(".b")]


def test_parameters_follow_the_model_when_it_changes():
    model = nn.MLP(2, [3, 2], rng=0)
    assert model.parameters() == named(model) and model.weights() == named(model, biases=False)
    model.layers[0].neurons[1].w[0] = new = Value(5.0)                  # a parameter replaced
    model.layers[1].neurons.append(nn.Neuron(3, rng=1))                 # a neuron added
    assert new in model.parameters() and model.parameters() == named(model)
    model.layers.append(nn.Layer(3, 1, rng=3))                          # a layer added
    model.layers[0] = nn.Layer(2, 3, rng=4)                             # a layer replaced
    assert model.parameters() == named(model) and model.weights() == named(model, biases=False)


def test_a_subclass_with_its_own_parameters_is_read_through_its_names():
    class Scaled(nn.Neuron):
        def __init__(self):
            self.scale = Value(2.0)
            super().__init__(2, rng=0)

        def _own_parameters(self):
            return [*super()._own_parameters(), ("scale", self.scale)]
    n = Scaled()
    assert n.parameters() == [*n.w, n.b, n.scale] and n.weights() == [*n.w, n.scale]


def test_a_subclass_with_child_modules_lists_their_parameters_too():
    class WithChild(nn.Neuron):
        def __init__(self):
            self.extra = nn.Neuron(1, rng=1)
            super().__init__(2, rng=0)

        def _children(self):
            return [("extra", self.extra)]
    n = WithChild()
    assert n.parameters() == [p for _, p in n.named_parameters()] == [*n.w, n.b, *n.extra.w, n.extra.b]
    assert n.weights() == [*n.w, *n.extra.w]


def test_l2_is_one_node_with_the_sum_of_squares_value_and_gradient_to_the_bit():
    rng = random.Random(7)
    for n in (1, 2, 17, 337):
        xs = [rng.uniform(-3, 3) for _ in range(n)]
        w = [Value(x, f"w{k}") for k, x in enumerate(xs)]
        loss = nn.l2(w, 0.3)
        order = topological_order(loss)
        assert [node.op for node in order] == [""] * n + ["sum_squares"]   # the w's and one node
        assert loss.primitive.consts == {"scale": 0.15}
        ref = [Value(x) for x in xs]
        total = ref[0] * ref[0]
        for r in ref[1:]:
            total = total + r * r
        expected = 0.15 * total                         # the sum written out, times λ/2
        assert loss.data == expected.data
        loss.backward()
        expected.backward()
        assert [p.grad for p in w] == [p.grad for p in ref]


def test_l2_is_the_written_out_sum_in_every_mode_and_to_second_order():
    # batched executor (a parameter read by a batched graph), compiled eager and compiled batched
    # (the layer program's own numpy line each way), and the Hessian through grad(create_graph=True)
    import autodiff
    from autodiff import hessian
    from autodiff.batched import batch
    from autodiff.batched import mean as batch_mean
    rng = random.Random(3)
    xs = [rng.uniform(-2, 2) for _ in range(5)]
    for lam in (0.0, 1e-4, 0.37, 2.0):
        def both(data, lam=lam):
            w, ref = [Value(x, f"w{k}") for k, x in enumerate(data)], [Value(x) for x in data]
            total = ref[0] * ref[0]
            for r in ref[1:] + [ref[2]]:                 # w2 read twice: its two terms add up
                total = total + r * r
            return w, ref, nn.l2(w + [w[2]], lam), (lam / 2) * total
        w, ref, loss, expected = both(xs)
        x = batch([0.5, -1.0, 2.0])
        loss, expected = batch_mean(x * w[0]) + loss, batch_mean(x * ref[0]) + expected
        loss.backward()
        expected.backward()
        assert loss.data == expected.data and [p.grad for p in w] == [p.grad for p in ref]
        program = autodiff.compile(loss)
        for p in w:
            p.grad = 0.0
        assert program.forward() == expected.data
        program.backward()
        assert [p.grad for p in w] == [p.grad for p in ref]
        w, ref, loss, expected = both(xs)
        program = autodiff.compile(loss)
        assert program.forward() == expected.data
        program.backward()
        expected.backward()
        assert [p.grad for p in w] == [p.grad for p in ref]
        h, h_ref = hessian(lambda *v, lam=lam: nn.l2(list(v) + [v[2]], lam), xs), lam * np.eye(5)
        h_ref[2, 2] *= 2
        assert np.allclose(h, h_ref, rtol=1e-15, atol=0)


def test_the_steppers_show_the_l2_node_as_a_sum_of_squares_with_local_derivative_two_w():
    w = [Value(0.5, "w0"), Value(-2.0, "w1")]
    plain = PRIMITIVES["sum_squares"](*w)
    node = next(s for s in backward_steps(plain) if s.op == "sum_squares").node
    names = node_names(topological_order(plain))
    assert node.primitive.symbol == "Σx²"
    assert [local_derivative_text(node, i, names) for i in range(2)] == ["2·w0", "2·w1"]
    loss = nn.l2(w, 0.1)                                # scale λ/2 = 0.05: ∂/∂w = λ w = 0.1·w
    step = next(s for s in backward_steps(loss) if s.op == "sum_squares")
    names = node_names(topological_order(loss))
    node = step.node
    assert node.primitive.symbol == "0.05·Σx²"
    assert [local_derivative_text(node, i, names) for i in range(2)] == ["0.1·w0", "0.1·w1"]
    assert step.local == (0.05 * 1.0, 0.05 * -4.0)      # λ w at w = 0.5 and -2
    assert step.contributions == step.local             # the root: upstream 1
    assert "0.1·w1" in str(step)
