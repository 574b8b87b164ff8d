"""The look the diagrams share: each role's fill colour, line style and legend text, used by `viz.draw`'s
graphviz diagrams and `viz.layered`'s drawing alike.
"""

from __future__ import annotations

__all__ = ["ROLE_STYLE"]

#: role (as `viz.draw.roles` gives it) -> (fill colour, extra style, what the legend says);
#: `viz.layered` draws with the same colours and legend
ROLE_STYLE = {
    "parameter": ("#fde2b8", "", "parameter (w, b)"),
    "input": ("#cfe3f7", "", "input"),
    "constant": ("#eeeeee", "dashed", "constant"),
    "output": ("#c8ecc8", "", "output"),
    "interior": ("#ffffff", "", "intermediate value"),
}
