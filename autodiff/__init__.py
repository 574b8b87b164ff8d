"""deltagrad's scalar automatic differentiation: `Value` nodes, one table of derivative rules,
an iterative backward pass, and numerical gradient checks."""

import autodiff.probe  # noqa: F401 (from now on define() checks a new row with it)
from autodiff._version import __version__
from autodiff.check import GradcheckError, gradcheck, numerical_grad
from autodiff.compiled import CompiledGraph, GraphChangedError, compile  # noqa: A004
from autodiff.engine import (
    PRIMITIVES,
    Primitive,
    Value,
    abs,
    cos,
    detect_anomaly,
    elu,
    exp,
    gelu,
    is_grad_enabled,
    leaky_relu,
    log,
    maximum,
    minimum,
    neuron,
    no_cycle_gc,
    no_grad,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    tanh,
    topological_order,
)
from autodiff.functional import grad, hessian, hvp
from autodiff.parse import ExpressionError, ParsedExpression, parse_expression
from autodiff.primitives import InfiniteSlopeError
from autodiff.steps import BackwardStep, ForwardStep, Walkthrough, backward_steps, forward_steps

__all__ = [
    "__version__", "Value", "Primitive", "PRIMITIVES", "BackwardStep", "topological_order", "backward_steps",
    "exp", "log", "tanh", "sigmoid", "relu", "ForwardStep", "forward_steps", "Walkthrough",
    "numerical_grad", "gradcheck", "GradcheckError", "neuron", "no_cycle_gc",
    "parse_expression", "ParsedExpression", "ExpressionError", "grad", "hessian", "hvp",
    "sqrt", "abs", "sin", "cos", "softplus", "leaky_relu", "elu", "gelu", "maximum", "minimum",
    "no_grad", "is_grad_enabled", "InfiniteSlopeError", "detect_anomaly", "compile", "CompiledGraph",
    "GraphChangedError",
]
