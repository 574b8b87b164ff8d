"""The pieces of a training step as users write it, made cheap (issue 17) without changing a number:
`Module.parameters()`/`weights()` read the model as it is now, without building names."""

import nn
from autodiff import Value


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
