"""The pieces of a training step as users write it, made cheap (issue 17) without changing a number:
`Module.parameters()`/`weights()` read the model as it is now, without building names; `nn.l2` is
one node (Σx²), to the bit, and the steppers show it as one."""

import random

import nn
from autodiff import Value, backward_steps, topological_order
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
        assert [node.op for node in order].count("sum_squares") == 1
        assert len(order) == n + 3                      # the w's, Σx², λ/2 and the product
        ref = [Value(x) for x in xs]
        total = ref[0] * ref[0]
        for r in ref[1:]:
            total = total + r * r
        expected = 0.15 * total
        assert loss.data == expected.data
        loss.backward()
        expected.backward()
        assert [p.grad for p in w] == [p.grad for p in ref]


def test_the_steppers_show_the_l2_node_as_a_sum_of_squares_with_local_derivative_two_w():
    w = [Value(0.5, "w0"), Value(-2.0, "w1")]
    loss = nn.l2(w, 0.1)
    step = next(s for s in backward_steps(loss) if s.op == "sum_squares")
    names = node_names(topological_order(loss))
    node = step.node
    assert node.primitive.symbol == "Σx²"
    assert [local_derivative_text(node, i, names) for i in range(2)] == ["2·w0", "2·w1"]
    assert step.local == (1.0, -4.0)                    # 2·w at w = 0.5 and -2
    assert step.contributions == (0.05 * 1.0, 0.05 * -4.0)
    assert "2·w1" in str(step)
