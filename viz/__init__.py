"""Diagrams of computation graphs and step-through of the forward and backward pass."""

from viz.step_html import HtmlStepper, step_html
from viz.stepper import step_terminal

__all__ = ["HtmlStepper", "step_html", "step_terminal"]
