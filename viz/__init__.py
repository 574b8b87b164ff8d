"""Diagrams of computation graphs and step-through of the forward and backward pass."""

# `viz.draw` is the function; the module's other names: `from viz.draw import render_svg, node_id`.
from viz.draw import Diagram, RenderError, draw, render, show
from viz.explore import Explorer, explore
from viz.frames import frames
from viz.step_html import HtmlStepper, step_html
from viz.stepper import step_terminal

__all__ = ["draw", "render", "show", "Diagram", "RenderError", "HtmlStepper", "step_html", "step_terminal",
           "frames", "explore", "Explorer"]
