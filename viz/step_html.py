"""An HTML stepper: one self-contained page (inline SVG diagram, CSS and script; no network, works from
``file://`` and in a notebook) that walks through the forward and then the backward pass of a graph,
highlighting the current node and showing the chain-rule step beside the diagram.  Predict mode asks the
learner for each gradient before revealing it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from autodiff import Value, Walkthrough, topological_order
from autodiff.files import write_atomic
from autodiff.steps import fmt, local_derivative_text

__all__ = ["HtmlStepper", "step_html"]


def _diagram(root: Value) -> tuple[str, list[str]]:
    """The graph as inline SVG from `viz.draw` and the SVG id of each node by topological position."""
    from viz.draw import draw, node_id, render_svg

    svg = render_svg(draw(root, show_grad=False))
    return svg, [node_id(i) for i in range(len(topological_order(root)))]


def _frames(walk: Walkthrough) -> list[dict]:
    """What changes at each frame, for the page's script: new values, new gradients, the node, the
    text, and (backward frames) the gradients the learner is asked to predict."""
    pos, names = walk.position, walk.names
    frames = []
    for frame, kind in enumerate(walk.kinds):
        step, node = walk.step(frame), walk.node(frame)
        item = {"kind": kind, "node": None if node is None else pos[node], "text": walk.text(frame),
                "touched": [], "values": {}, "grads": {}, "asks": [], "hint": ""}
        if kind == "start":
            item["values"] = {pos[n]: walk.at(n.data) for n in walk.order if n.is_leaf}
        elif kind == "forward":
            item["values"] = {pos[node]: walk.at(step.result)}
            item["touched"] = sorted({pos[p] for p in step.parents})
        elif kind == "seed":
            item["grads"] = {pos[n]: g for n, g in walk.prior.items()} | {pos[walk.root]: walk.seed}
        else:
            after = {p: walk.at(g) for p, g in zip(step.parents, step.running, strict=True)}  # last use wins
            item["grads"] = {pos[p]: g for p, g in after.items()}
            item["touched"] = sorted(pos[p] for p in after)
            item["asks"] = [{"pos": pos[p], "name": names[p], "value": g} for p, g in after.items()]
            head = f"step {step.index}/{step.total}  {step.op}: "
            upstream = fmt(walk.at(step.upstream))
            item["hint"] = head + ("\n" + " " * len(head)).join(
                f"{names[p]}.grad += {local_derivative_text(node, i, names)} · {names[node]}.grad = ?"
                for i, p in enumerate(step.parents)) + f"\n\nwith {names[node]}.grad = {upstream}"
        frames.append(item)
    return frames


class HtmlStepper:
    """A step-through page for ``root``'s graph; ``html`` is the page, ``save(path)`` writes it and a
    notebook shows it inline (``_repr_html_``).  Building it runs the real backward pass, so afterwards
    the graph holds the gradients ``root.backward()`` gives.

    ``predict=True`` asks for each parent's new gradient at every backward step before revealing it;
    an answer a is right when ``|a - g| <= tolerance * max(1, |g|)``.  On a batched graph
    (`autodiff.batched`) the page shows example ``example`` (default 0).
    """

    def __init__(self, root: Value, *, predict: bool = False, tolerance: float = 1e-3,
                 title: str = "deltagrad stepper", example: int | None = None):
        if not isinstance(root, Value):
            raise TypeError(f"the HTML stepper needs a Value (the output of a computation), got "
                            f"{type(root).__name__}")
        if not tolerance > 0:
            raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
        svg, ids = _diagram(root)  # drawn before the backward pass, so it shows no gradient yet
        walk = Walkthrough(root, example)
        self.walkthrough, self.predict, self.path, self.node_ids = walk, predict, None, ids
        data = {"nodes": [{"id": ids[i], "name": walk.names[n], "op": n.op or "leaf"}
                          for i, n in enumerate(walk.order)],
                "frames": _frames(walk), "predict": predict, "tolerance": tolerance}
        payload = json.dumps(data, allow_nan=False).replace("</", "<\\/")
        self.html = (_PAGE.replace("%TITLE%", html.escape(title)).replace("%SVG%", svg)
                     .replace("%DATA%", payload).replace("%MODE%", "predict" if predict else "step"))

    def save(self, path: str | Path) -> HtmlStepper:
        self.path = Path(path)
        write_atomic(self.path, self.html)
        return self

    def _repr_html_(self) -> str:
        # An iframe keeps the page's script, styles and ids apart from the notebook's and from other
        # steppers in the same notebook.
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;height:640px;'
                'border:1px solid #ddd" title="deltagrad stepper"></iframe>')


def step_html(root: Value, path: str | Path, predict: bool = False, *,
              tolerance: float = 1e-3, example: int | None = None) -> HtmlStepper:
    """Write the step-through page for ``root``'s graph to ``path`` and return it (a notebook cell
    ending in this call shows the page inline).  See `HtmlStepper`."""
    return HtmlStepper(root, predict=predict, tolerance=tolerance, example=example).save(path)


_PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%TITLE%</title>
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 12px; color: #222; }
 #dg-main { display: flex; gap: 16px; align-items: flex-start; }
 #dg-diagram { flex: 1 1 60%; overflow: auto; border: 1px solid #ddd; border-radius: 6px; padding: 6px; }
 #dg-diagram svg { max-width: 100%; height: auto; }
 #dg-side { flex: 1 1 40%; min-width: 300px; }
 #dg-text, #dg-hint { font: 13px/1.5 ui-monospace, monospace; white-space: pre-wrap; background: #f6f8fa;
   border-radius: 6px; padding: 8px; margin: 8px 0; }
 #dg-hint { background: #fff8e1; }
 .dg-nav button { font-size: 14px; padding: 4px 14px; margin-right: 6px; }
 #dg-phase { font-weight: 600; }
 .dg-forward #dg-phase { color: #1864ab; } .dg-backward #dg-phase { color: #a61e4d; }
 .dg-halo { fill: none; stroke: none; }
 .dg-current .dg-halo { fill: #ffe8cc; stroke: #e8590c; stroke-width: 3; }
 .dg-touched .dg-halo { fill: #fff3bf; stroke: #f59f00; stroke-width: 2; stroke-dasharray: 4 2; }
 .dg-pending { opacity: 0.35; }
 .dg-num { font: 11px ui-monospace, monospace; fill: #5c3c00; }
 .dg-num .dg-g { fill: #a61e4d; font-weight: 600; }
 table { border-collapse: collapse; font: 12px ui-monospace, monospace; margin-top: 8px; }
 td, th { padding: 1px 8px; text-align: right; } td:first-child, th:first-child { text-align: left; }
 tr.dg-current { background: #ffe8cc; } tr.dg-touched { background: #fff3bf; }
 .dg-ask { margin: 4px 0; } .dg-ask input { width: 8em; font: 13px ui-monospace, monospace; }
 .right { color: #2b8a3e; font-weight: 600; } .wrong { color: #c92a2a; font-weight: 600; }
</style></head>
<body class="dg-%MODE%">
<div id="dg-main">
 <div id="dg-diagram">%SVG%</div>
 <div id="dg-side">
  <div class="dg-nav"><button id="dg-prev" title="previous (←)">◀ Prev</button><button id="dg-next"
   title="next (→)">Next ▶</button> <span id="dg-phase"></span> <span id="dg-counter"></span></div>
  <div id="dg-hint" hidden></div>
  <div id="dg-predict" hidden></div>
  <div id="dg-text"></div>
  <table id="dg-table"><thead><tr><th>node</th><th>op</th><th>data</th><th>grad</th></tr></thead>
   <tbody></tbody></table>
  <p style="color:#888">← → or the buttons move one step: forward pass first, then backward.</p>
 </div>
</div>
<script type="application/json" id="dg-data">%DATA%</script>
<script>
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("dg-data").textContent);
  const SVGNS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  let frame = 0;
  const revealed = new Set();

  function fmt(x) {  // as autodiff.steps.fmt: at most 4 decimals, nothing non-zero shown as 0
    if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toPrecision(4).replace(/\.?0+e/, "e");
    let s = x.toFixed(4).replace(/0+$/, "");
    if (s.endsWith(".")) s += "0";
    return s === "-0.0" ? "0.0" : s;
  }

  // Decorate each diagram node: a halo rectangle behind it and a line of numbers under it.
  const groups = D.nodes.map((n, i) => {
    const g = n.id ? document.getElementById(n.id) : null;
    if (!g || !g.getBBox) return null;
    const b = g.getBBox();
    const halo = document.createElementNS(SVGNS, "rect");
    halo.setAttribute("class", "dg-halo");
    for (const [k, v] of [["x", b.x - 4], ["y", b.y - 4], ["width", b.width + 8], ["height", b.height + 8],
                          ["rx", 6]]) halo.setAttribute(k, v);
    g.insertBefore(halo, g.firstChild);
    const t = document.createElementNS(SVGNS, "text");
    t.setAttribute("class", "dg-num");
    t.setAttribute("id", "dg-num-" + i);
    t.setAttribute("x", b.x + b.width / 2);
    t.setAttribute("y", b.y + b.height + 14);
    t.setAttribute("text-anchor", "middle");
    g.appendChild(t);
    return g;
  });

  const tbody = document.querySelector("#dg-table tbody");
  const rows = D.nodes.map((n, i) => {
    const tr = document.createElement("tr");
    tr.id = "dg-row-" + i;
    tr.innerHTML = "<td></td><td></td><td class='dg-data'></td><td class='dg-grad'></td>";
    tr.children[0].textContent = n.name;
    tr.children[1].textContent = n.op;
    tbody.appendChild(tr);
    return tr;
  });

  function hidden(k) { return D.predict && D.frames[k].asks.length > 0 && !revealed.has(k); }

  function state(k) {
    const values = {}, grads = {};
    for (let i = 0; i <= k; i++) {
      Object.assign(values, D.frames[i].values);
      if (!(i === k && hidden(k))) Object.assign(grads, D.frames[i].grads);
    }
    return { values, grads };
  }

  function render() {
    const f = D.frames[frame], s = state(frame);
    const phase = f.kind === "start" || f.kind === "forward" ? "forward" : "backward";
    document.body.classList.toggle("dg-forward", phase === "forward");
    document.body.classList.toggle("dg-backward", phase === "backward");
    $("dg-phase").textContent = { start: "start", forward: "forward pass", seed: "backward pass: seed",
                                   backward: "backward pass" }[f.kind];
    $("dg-counter").textContent = (frame + 1) + " / " + D.frames.length;
    $("dg-prev").disabled = frame === 0;
    $("dg-next").disabled = frame === D.frames.length - 1;
    const hide = hidden(frame);
    $("dg-text").textContent = hide ? "" : f.text;
    $("dg-text").hidden = hide;
    $("dg-hint").hidden = !hide;
    $("dg-hint").textContent = hide ? f.hint : "";
    renderPredict(f, hide);
    D.nodes.forEach((n, i) => {
      const cls = i === f.node ? "dg-current" : f.touched.includes(i) ? "dg-touched" : null;
      for (const el of [groups[i], rows[i]]) {
        if (!el) continue;
        el.classList.remove("dg-current", "dg-touched", "dg-pending");
        if (cls) el.classList.add(cls);
        if (!(i in s.values)) el.classList.add("dg-pending");
      }
      const v = i in s.values ? fmt(s.values[i]) : "";
      const asked = hide && f.asks.some((a) => a.pos === i);
      const g = asked ? "?" : i in s.grads ? fmt(s.grads[i]) : "";
      rows[i].querySelector(".dg-data").textContent = v;
      rows[i].querySelector(".dg-grad").textContent = g;
      const t = $("dg-num-" + i);
      if (t) {
        t.textContent = "";
        if (v) t.appendChild(document.createTextNode(v));
        if (g) {
          const span = document.createElementNS(SVGNS, "tspan");
          span.setAttribute("class", "dg-g");
          span.textContent = "  ∇ " + g;
          t.appendChild(span);
        }
      }
    });
  }

  function renderPredict(f, hide) {
    const box = $("dg-predict");
    box.hidden = !hide;
    box.textContent = "";
    if (!hide) return;
    const p = document.createElement("div");
    p.textContent = "Predict the new gradients, then Check (or Reveal):";
    box.appendChild(p);
    for (const a of f.asks) {
      const row = document.createElement("div");
      row.className = "dg-ask";
      row.innerHTML = "<label></label> <input type='text' inputmode='decimal'> <span></span>";
      row.querySelector("label").textContent = a.name + ".grad =";
      row.querySelector("input").id = "dg-ask-" + a.pos;
      row.querySelector("span").id = "dg-verdict-" + a.pos;
      box.appendChild(row);
    }
    const buttons = document.createElement("div");
    buttons.innerHTML = "<button id='dg-check'>Check</button> <button id='dg-reveal'>Reveal</button>";
    box.appendChild(buttons);
    $("dg-check").onclick = check;
    $("dg-reveal").onclick = () => { revealed.add(frame); render(); };
    box.querySelectorAll("input").forEach((el) => el.addEventListener("keydown", (e) => {
      if (e.key === "Enter") check();
    }));
  }

  function check() {
    const f = D.frames[frame];
    let all = true;
    for (const a of f.asks) {
      const raw = $("dg-ask-" + a.pos).value.trim().replace("−", "-");
      const x = Number(raw);
      const ok = raw !== "" && Number.isFinite(x)
        && Math.abs(x - a.value) <= D.tolerance * Math.max(1, Math.abs(a.value));
      const verdict = $("dg-verdict-" + a.pos);
      verdict.textContent = ok ? "✓ right" : raw === "" ? "? enter a number" : "✗ wrong, try again";
      verdict.className = ok ? "right" : "wrong";
      all = all && ok;
    }
    const summary = $("dg-predict-result") || document.createElement("div");
    summary.id = "dg-predict-result";
    summary.className = all ? "right" : "wrong";
    summary.textContent = all ? "Right! Press Next to continue." : "Not all right yet.";
    $("dg-predict").appendChild(summary);
    if (all) {
      revealed.add(frame);
      const keep = summary;
      render();
      $("dg-text").after(keep);
    }
  }

  function go(delta) {
    if (D.predict && delta > 0) revealed.add(frame);  // moving on reveals what was skipped
    frame = Math.max(0, Math.min(D.frames.length - 1, frame + delta));
    const old = $("dg-predict-result");
    if (old) old.remove();
    render();
  }
  $("dg-prev").onclick = () => go(-1);
  $("dg-next").onclick = () => go(1);
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement) return;  // arrows move the caret while typing an answer
    if (e.key === "ArrowRight") { go(1); e.preventDefault(); }
    if (e.key === "ArrowLeft") { go(-1); e.preventDefault(); }
  });
  render();
})();
</script>
</body></html>
"""
