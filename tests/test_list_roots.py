"""A model's list of outputs passed where one Value is needed: every entry point names what to pass
(a fresh engineer's report: only draw/render/show did; the steppers, frames and compile said "got list")."""

from __future__ import annotations

import re

import pytest

import autodiff
import nn
import viz

ENTRY_POINTS = {
    "the HTML stepper": (lambda root, tmp: viz.step_html(root, tmp / "page.html"), "viz.step_html"),
    "the terminal stepper": (lambda root, tmp: viz.step_terminal(root), "viz.step_terminal"),
    "frames": (lambda root, tmp: viz.frames(root, tmp / "frames"), "viz.frames"),
    "compile": (lambda root, tmp: autodiff.compile(root), "autodiff.compile"),
    "draw": (lambda root, tmp: viz.draw(root), "viz.draw"),
}


@pytest.mark.parametrize("who", list(ENTRY_POINTS))
def test_a_list_of_one_value_is_refused_naming_its_element(who, tmp_path):
    call, shown = ENTRY_POINTS[who]
    out = nn.MLP(2, [3, 1], rng=1)([1.0, 2.0])
    with pytest.raises(TypeError, match=rf"^{who} needs a Value.*got list of one Value .*pass its element, "
                                        rf"out\[0\], as in {re.escape(shown)}\(model\(x\)\[0\]"):
        call(out, tmp_path)
    assert not list(tmp_path.iterdir())   # nothing written


@pytest.mark.parametrize("who", list(ENTRY_POINTS))
def test_a_list_of_several_values_is_refused_naming_what_to_pass(who, tmp_path):
    call, _ = ENTRY_POINTS[who]
    out = nn.Layer(2, 2, rng=1)([1.0, 2.0])
    with pytest.raises(TypeError, match=rf"^{who} needs a Value.*got list of 2 Values: pass one of them"):
        call(out, tmp_path)


@pytest.mark.parametrize("who", list(ENTRY_POINTS))
def test_another_list_is_refused_as_before(who, tmp_path):
    call, _ = ENTRY_POINTS[who]
    for root in ([1.0, 2.0], [], (1,)):
        with pytest.raises(TypeError, match=rf"^{who} needs a Value.*got (list|tuple)$"):
            call(root, tmp_path)
