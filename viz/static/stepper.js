// deltagrad's HTML stepper. Every text from the graph goes into the page with textContent, never as markup.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("dg-data").textContent);
  const SVGNS = "http://www.w3.org/2000/svg", MATHNS = "http://www.w3.org/1998/Math/MathML";
  const $ = (id) => document.getElementById(id);
  const F = D.frames.length;
  const FINER = { layer: "neuron", neuron: "op" };
  const byName = new Map(D.nodes.map((n, i) => [n.name, i]));
  const root = D.nodes.length - 1;
  const seedFrame = D.frames.findIndex((f) => f.kind === "seed");
  let level = D.level, items = [], cur = 0, zoom = 1, inspected = null;
  const opened = new Set(), revealed = new Set();

  function fmt(x) {  // as autodiff.steps.fmt: at most 4 decimals, nothing non-zero shown as 0
    if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) {  // Python's "%.4g": 5.774e-05, 1e+06
      let [m, e] = x.toExponential(3).split("e");
      // %g writes an exponent from -4 up to 3 in full: 0.0009531, not 9.531e-04 (the text's way)
      if (+e >= -4 && +e < 4) return x.toFixed(3 - e).replace(/0+$/, "").replace(/\.$/, "");
      m = m.replace(/\.?0+$/, "");
      const digits = e.replace(/^[+-]/, "");
      return m + "e" + (e[0] === "-" ? "-" : "+") + (digits.length < 2 ? "0" : "") + digits;
    }
    let s = x.toFixed(4).replace(/0+$/, "");
    if (s.endsWith(".")) s += "0";
    return s === "-0.0" ? "0.0" : s;
  }

  // ---- the diagram: a halo and a line of numbers for each box ----------------------------------------
  // graphviz's SVG, or viz.layered's figure (its legend above a div of tiles: HTML boxes, SVG edges), which zooms whole
  const canvas = document.getElementById("dg-diagram").firstElementChild;
  // the layered drawing's tiles of boxes: none is laid out until it comes near the view (showTiles, below)
  for (const t of document.querySelectorAll("#dg-diagram .dg-layered > .dg-boxes")) {
    t.style.contentVisibility = "visible";
    t.style.display = "none";
  }
  const svg = canvas && canvas.tagName.toLowerCase() === "svg" ? canvas : null;
  // graphviz's edges go in an SVG of their own behind the boxes, and the boxes' SVG is a layer of its
  // own (stepper.css): a step restyles boxes and rewrites numbers, and the browser then rasters again
  // only the changed areas of the boxes' layer, no longer the hundreds of edges crossing each of them
  // (the README loss's 337 into its L2 node made that most of a step's time).
  // room on each side of graphviz's drawing for a line of numbers wider than the box above it (an
  // input's, at the drawing's edge), so that no text pokes out of the drawing
  const SIDE = 40;
  if (svg && svg.viewBox.baseVal && svg.viewBox.baseVal.width) {
    const b = svg.viewBox.baseVal, scale = svg.width.baseVal.value / b.width;
    svg.setAttribute("viewBox", [b.x - SIDE, b.y, b.width + 2 * SIDE, b.height].join(" "));
    svg.setAttribute("width", svg.width.baseVal.value + 2 * SIDE * scale);
  }
  const edgeSvg = svg && splitEdges(svg);
  // graphviz's legend, taken out of the drawing into a fixed-size SVG above it, as viz.layered places its
  // own: zoomed with the drawing it was 5 px tall at "fit", and where the layout put it (the README loss's:
  // 2,192 px across) it was out of the opening view. A pt of it is a px: its text 14 px at every zoom.
  const legendSvg = svg ? pinLegend(svg) : null;
  function pinLegend(s) {
    const g = s.querySelector("g#legend");
    if (!g) return null;
    const b = g.getBBox(), out = document.createElementNS(SVGNS, "svg"), w = b.width + 8, h = b.height + 8;
    for (const [k, v] of [["class", "dg-legend"], ["viewBox", [b.x - 4, b.y - 4, w, h].join(" ")],
                          ["width", w], ["height", h]]) out.setAttribute(k, v);
    out.style.cssText = "display:block;position:sticky;left:0;background:#fff";
    out.appendChild(g);
    s.parentNode.insertBefore(out, edgeSvg || s);
    if (edgeSvg) s.style.top = h + "px";  // the boxes over their edges, both below the legend
    return out;
  }
  function splitEdges(s) {
    const graph = s.querySelector(":scope > g.graph"), edges = graph ? graph.querySelectorAll(":scope > g.edge") : [];
    if (!edges.length) return null;
    const back = s.cloneNode(false), g = graph.cloneNode(false), paper = graph.querySelector(":scope > polygon");
    if (paper) g.appendChild(paper);  // graphviz's white background, now behind the edges
    g.append(...edges);
    back.appendChild(g);
    back.classList.add("dg-edges");
    s.classList.add("dg-front");
    s.before(back);
    return back;
  }
  const boxEl = new Map();  // SVG id -> <g>
  const numEl = [];          // node -> its <text> of numbers (only a node with its own box)
  D.nodes.forEach((n, i) => {
    let g = boxEl.get(n.id);
    if (g === undefined) {
      g = document.getElementById(n.id);
      boxEl.set(n.id, g);
      if (g instanceof SVGElement && !g.querySelector(".dg-halo")) decorate(g);  // (a layered box is HTML)
    }
    if (g && n.op !== "leaf") {  // graphviz wrote the values in: hidden, the number line shows them once computed
      for (const t of g.querySelectorAll("text")) {
        if (/^data |= \S*\d$/.test(t.textContent.trim())) t.classList.add("dg-baked");
      }
    } else if (g && n.own) {  // a leaf's "data 3" too: its line of numbers shows 3.0 from the start (and the
      for (const t of g.querySelectorAll("text")) {  // steps write there), so the value showed twice
        if (/^data \S*\d$/.test(t.textContent.trim())) t.classList.add("dg-baked");
      }
    }
    if (g && n.own) {
      let t = g.querySelector(":scope > .dg-num");
      if (!t) t = addText(g, "dg-num", 0, 14, "middle");
      t.id = "dg-num-" + i;
      // a value and a gradient part, made once: a step changes their text, never the elements
      const span = t instanceof SVGElement ? document.createElementNS(SVGNS, "tspan") : document.createElement("span");
      span.setAttribute("class", "dg-g");
      t.replaceChildren(document.createTextNode(""), span);
      numEl[i] = t;
      // a box graphviz labels with no name, or with a label other nodes share: the name the text uses
      if ((!n.label || n.shared !== undefined) && !D.layered) addText(g, "dg-name", 0, -6, "start").textContent = n.name;
    }
  });

  // A batched graph's boxes say "[batch]" where a number would be. A collapsed neuron's lines
  // "z = Σ w·x + b = [batch]" and "a = relu(z) = [batch]" show the chosen example's z and a instead, once
  // computed (showInside writes them), and a leaf's "data [batch]" its data; any other "[batch]" is
  // hidden, as the line of numbers under its box shows the example's value.
  const liveLines = [];  // {t: the <text>, id: its box, i: the node it is of, head: its text before the number}
  for (const [id, g] of boxEl) {
    if (!g) continue;
    for (const t of g.querySelectorAll("text")) {
      const line = t.textContent.trim(), m = /^(\S+) = .*= \[batch\]$/.exec(line);
      if (!line.endsWith("[batch]")) continue;
      const i = m ? D.nodes.findIndex((n) => n.id === id && n.name.endsWith("." + m[1]))
        : line === "data [batch]" ? D.nodes.findIndex((n) => n.id === id && n.own) : -1;  // a leaf's, as unbatched
      if (i < 0) t.classList.add("dg-baked");
      else liveLines.push({ t, id, i, head: line.slice(0, -"[batch]".length), shown: null });
    }
  }

  function decorate(g) {
    const b = g.getBBox();
    const halo = document.createElementNS(SVGNS, "rect");
    halo.setAttribute("class", "dg-halo");
    for (const [k, v] of [["x", b.x - 4], ["y", b.y - 4], ["width", b.width + 8], ["height", b.height + 8],
                          ["rx", 6]]) halo.setAttribute(k, v);
    g.insertBefore(halo, g.firstChild);
  }

  function addText(g, cls, dx, dy, anchor) {  // under (dy > 0) or above (dy < 0) the box
    const b = g.querySelector(".dg-halo").getBBox();
    const t = document.createElementNS(SVGNS, "text");
    t.setAttribute("class", cls);
    t.setAttribute("x", anchor === "middle" ? b.x + b.width / 2 : b.x + 4 + dx);
    t.setAttribute("y", dy > 0 ? b.y + b.height + dy - 4 : b.y + 4 + dy);
    t.setAttribute("text-anchor", anchor);
    g.appendChild(t);
    return t;
  }

  // ---- the table of every node -----------------------------------------------------------------------
  const tbody = document.querySelector("#dg-table tbody");
  const rows = [];  // node -> its row; the rows in reading order (D.rows), as the start frame lists leaves
  for (const i of D.rows) {
    const n = D.nodes[i], tr = document.createElement("tr");
    tr.id = "dg-row-" + i;
    for (const cls of ["", "", "dg-data", "dg-grad"]) {
      const td = document.createElement("td");
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    tr.children[0].textContent = n.name;
    tr.children[1].textContent = n.op;
    tbody.appendChild(tr);
    rows[i] = tr;
  }
  // The table is written only while it is open (and in full when it opens): a step of a big network
  // changes hundreds of numbers, and rows nobody sees cost the browser as much as the diagram.
  const tableBox = $("dg-table-box");
  if (D.nodes.length <= 80) tableBox.open = true;
  // node i's numbers as the diagram shows them: its value's text shownV[i] ("" while not known), its
  // gradient's shownG[i] ("", "?" in predict mode, or the number), whether its value is known shownK[i],
  // and the line's length in characters; rowShown[i]: as last written to its table row
  const shownV = [], shownG = [], shownK = [], shownChars = [], rowShown = [];
  // each node's value and gradient as last formatted, and their texts: a step formats only the numbers
  // that changed (the loss's step redraws 614 nodes, whose values a backward step leaves alone)
  function fmtCached() {  // node i's number x as fmt writes it, written again only when x changed
    const last = [], text = [];
    return (i, x) => last[i] === x && text[i] !== undefined ? text[i] : (last[i] = x, text[i] = fmt(x));
  }
  const fmtValue = fmtCached(), fmtGrad = fmtCached();
  tableBox.addEventListener("toggle", () => { if (tableBox.open) { render(); drawRows(D.nodes.keys()); } });
  function drawRows(indices) {
    for (const i of indices) {
      if (shownV[i] === undefined) continue;
      const line = shownV[i] + "\u0000" + shownG[i] + "\u0000" + shownK[i];
      if (rowShown[i] === line) continue;
      rowShown[i] = line;
      rows[i].classList.toggle("dg-pending", !shownK[i]);
      rows[i].children[2].textContent = shownV[i];
      rows[i].children[3].textContent = shownG[i];
    }
  }
  const names = $("dg-names");
  for (const i of D.rows) { const o = document.createElement("option"); o.value = D.nodes[i].name; names.appendChild(o); }

  // ---- the steps at the chosen level: items are fine frames {f} or coarse groups {g} ------------------
  const starts = { layer: new Map(), neuron: new Map() };
  D.groups.forEach((g, k) => starts[g.level].set(g.first, k));

  function expand(first, last, lv) {
    const out = [];
    for (let f = first; f <= last;) {
      const k = lv === "op" ? undefined : starts[lv].get(f);
      if (k === undefined) {  // a step outside every group at this level (the loss's ops)
        out.push({ f, first: f, last: f });
        f++;
        continue;
      }
      const g = D.groups[k];
      const same = g.first === first && g.last === last;  // the loss: the same run at every coarse level
      if (opened.has(k) || same) out.push(...expand(g.first, g.last, FINER[lv]));
      else out.push({ g: k, first: g.first, last: g.last });
      f = g.last + 1;
    }
    return out;
  }

  function rebuild(frame) {
    items = expand(0, F - 1, level);
    cur = Math.max(0, items.findIndex((it) => it.first <= frame && frame <= it.last));
  }

  const info = (it) => it.g !== undefined ? D.groups[it.g] : D.frames[it.f];
  const key = (it) => it.g !== undefined ? "g" + it.g : "f" + it.f;
  const phaseOf = (it) => it.g !== undefined ? D.groups[it.g].phase : D.frames[it.f].kind;
  function nodesOf(it) {
    if (it.g !== undefined) return D.groups[it.g].nodes;
    const n = D.frames[it.f].node;
    return n === null ? [] : [n];
  }
  // the nodes a step reads or updates besides its own (the loss's: 310), made once a step (not changed)
  const touchedSets = new Map();
  function touchedOf(it) {
    let s = touchedSets.get(key(it));
    if (s) return s;
    s = new Set();
    for (let f = it.first; f <= it.last; f++) for (const t of D.frames[f].touched) s.add(t);
    for (const n of nodesOf(it)) s.delete(n);
    touchedSets.set(key(it), s);
    return s;
  }
  function hidden(it) { return D.predict && info(it).asks.length > 0 && !revealed.has(key(it)); }
  // Predict mode: the nodes whose gradient no step the learner has answered (or moved past) asks for, at
  // this level. A coarse step asks for its neurons' ∂L/∂a and δ, which the steps before it computed, so
  // those stay off the diagram, the table and the inspector until it is answered.
  function unanswered() {
    const done = new Map();
    if (!D.predict) return new Set();
    for (const it of items) {
      const f = info(it);
      if (!f.asks.length) continue;
      const ok = revealed.has(key(it));
      const asked = f.asks.map((a) => a.pos);
      if (it.g !== undefined) asked.push(...D.groups[it.g].nodes);
      for (const i of asked) done.set(i, done.get(i) || ok);
    }
    return new Set([...done].filter(([, ok]) => !ok).map(([i]) => i));
  }
  let unseen = new Set();

  // The values and gradients known after a step. Moving forward only applies the new frames (and only
  // the nodes they change are redrawn); a hidden step (predict mode) or a move back starts again.
  let memo = null;
  function state(it, hide) {
    if (hide || memo === null || memo.hide || memo.last > it.last) {
      memo = { values: {}, grads: {}, last: -1, hide, dirty: null };
    } else memo.dirty = new Set();
    for (let f = memo.last + 1; f <= it.last; f++) {
      const fr = D.frames[f];
      Object.assign(memo.values, fr.values);
      if (!(hide && f >= it.first)) Object.assign(memo.grads, fr.grads);
      if (memo.dirty) for (const k in fr.values) memo.dirty.add(+k);
      if (memo.dirty) for (const k in fr.grads) memo.dirty.add(+k);
    }
    memo.last = it.last;
    return memo;
  }

  // ---- drawing one step: only what changed is written ---------------------------------------------------
  // The classes a step gives (current, touched, focus), element -> its bits of MARKS: a step changes only
  // the classes that differ from the last step's, so the boxes both steps mark are not restyled or
  // repainted (bits, not a set of names per element: the loss's step marks 924 boxes).
  const MARKS = ["dg-current", "dg-touched", "dg-focus"], CURRENT = 1, TOUCHED = 2, FOCUS = 4;
  // marked: the bits the last step gave; want: this step's; on: the bits an element has on the page. A
  // box in a tile away from the view gets the classes a step adds when the tile comes near (showTiles).
  let marked = new Map(), want = new Map(), wasAsked = new Set();
  const on = new Map();
  function mark(el, bit) { if (el) want.set(el, (want.get(el) || 0) | bit); }
  function setMarks(el, bits) {
    const had = on.get(el) || 0;
    if (had === bits) return;
    for (let b = 0, off = had & ~bits; off; b++, off >>= 1) if (off & 1) el.classList.remove(MARKS[b]);
    for (let b = 0, add = bits & ~had; add; b++, add >>= 1) if (add & 1) el.classList.add(MARKS[b]);
    if (bits) on.set(el, bits); else on.delete(el);
  }
  function applyMarks() {
    const apply = (el, bits) => {  // (a class is taken off at once: no box keeps an old step's class)
      const tile = tileOf.get(el.parentNode), had = on.get(el) || 0;
      if (tile && !tile.shown && bits & ~had) { setMarks(el, bits & had); tile.stale.add(el); }
      else setMarks(el, bits);
    };
    for (const el of marked.keys()) if (!want.has(el)) apply(el, 0);
    for (const [el, bits] of want) if (bits !== marked.get(el)) apply(el, bits);
    [marked, want] = [want, new Map()];
  }

  // A node drawn inside a collapsed neuron (its a too) has no box showing its name: the names the step
  // uses are written inside the neuron's box that holds them, as graphviz names them inside a neuron
  // (w.0, b: without the neuron's "layers.L.neurons.J." prefix; a run of weights as w.0–15), wrapped
  // to the box's width below its title, so they overlap nothing and every name in the text is on it.
  const insideEl = new Map();  // SVG id -> {t: its <text> of names, x, y, chars: the line's width}
  const idCount = new Map(), ownerName = new Map();
  for (const n of D.nodes) {
    idCount.set(n.id, (idCount.get(n.id) || 0) + 1);
    if (n.own) ownerName.set(n.id, n.name);
  }
  const NATURAL = new Intl.Collator("en", { numeric: true });  // made once: localeCompare makes one a call
  function shortNames(id, list) {
    const m = /^(.*\.neurons\.\d+)\.[^.]+$/.exec(ownerName.get(id) || "");
    const prefix = m ? m[1] + "." : "";
    const out = [];
    let run = null;  // [first, last] of consecutive weights w.k
    const flush = () => {
      if (!run) return;
      if (run[1] - run[0] >= 2) out.push("w." + run[0] + "–" + run[1]);
      else for (let k = run[0]; k <= run[1]; k++) out.push("w." + k);
      run = null;
    };
    for (const name of [...list].sort(NATURAL.compare)) {
      const short = prefix && name.startsWith(prefix) ? name.slice(prefix.length) : name;
      const w = prefix && /^w\.(\d+)$/.exec(short);
      if (w && run && +w[1] === run[1] + 1) { run[1]++; continue; }
      flush();
      if (w) run = [+w[1], +w[1]]; else out.push(short);
    }
    flush();
    return out;
  }
  function insideBox(id) {
    let box = insideEl.get(id);
    if (box) return box;
    const g = boxEl.get(id), b = g.querySelector(".dg-halo").getBBox();
    const title = g.querySelector("text:not(.dg-baked):not(.dg-num):not(.dg-name)");
    const top = title ? title.getBBox() : { y: b.y + 4, height: 14 };
    const t = document.createElementNS(SVGNS, "text");
    t.setAttribute("class", "dg-inside");
    g.appendChild(t);
    const y = top.y + top.height + 10;
    box = { t, x: b.x + 10, y, chars: Math.max(8, Math.floor((b.width - 20) / 6.7)) };
    insideEl.set(id, box);
    return box;
  }
  // the nodes the step's text names, and those the inspector's chain-rule sum names (its node's users):
  // each is written inside its collapsed neuron's box when it has no box of its own
  let stepNames = [[], []], inspectorNames = [];
  function showInside(current, touched) {
    const names = new Map();
    for (const i of [...current, ...touched]) {
      const n = D.nodes[i];
      if (idCount.get(n.id) < 2 || !boxEl.get(n.id) || (overlay && overlay.boxes.has(i))) continue;  // a box of its own shows its name
      if (!names.has(n.id)) names.set(n.id, []);
      if (!names.get(n.id).includes(n.name)) names.get(n.id).push(n.name);
    }
    for (const [id, box] of insideEl) if (!names.has(id) && box.text) { box.t.textContent = ""; box.text = ""; }
    for (const [id, list] of names) {
      const box = insideBox(id), lines = [""];
      for (const word of shortNames(id, list)) {
        const last = lines[lines.length - 1];
        if (last && last.length + 2 + word.length > box.chars) lines.push(word);
        else lines[lines.length - 1] = last ? last + ", " + word : word;
      }
      if (box.text === lines.join("\n")) continue;  // as the last step left it: not written again
      box.text = lines.join("\n");
      box.t.textContent = "";
      lines.forEach((line, k) => {
        const span = document.createElementNS(SVGNS, "tspan");
        span.setAttribute("x", box.x);
        span.setAttribute("y", box.y + 12 * k);
        span.textContent = line + (k < lines.length - 1 ? "," : "");
        box.t.appendChild(span);
      });
    }
    // a batched neuron's z and a lines, where its box lists no names over them
    for (const l of liveLines) {
      const known = memo && l.i in memo.values;
      const text = insideEl.get(l.id)?.text ? "" : l.head + (known ? fmt(memo.values[l.i]) : "");
      if (l.shown !== text) { l.t.textContent = text; l.shown = text; }
    }
  }


  // ---- a step opened in place on the drawing ----------------------------------------------------------
  // An opened neuron draws its scalar operations in a panel just below its box (over whatever is there):
  // the operations whose inputs all come from outside it (w·x, a fused neuron's z) on the left, each
  // other one on the right at the row of its last operand, so a running sum reads top to bottom; each
  // op a box with its name, halo and line of numbers, which the step highlights and fills as it does the
  // diagram's own. An opened layer is framed. Both show while the current step is inside them.
  // graphviz's drawing gets them in its own coordinates; the layered drawing as a tile of its own.
  const parentsOf = new Map();
  for (const fr of D.frames) if (fr.kind === "forward") parentsOf.set(fr.node, fr.touched);
  const layeredDiv = D.layered && canvas ? canvas.querySelector(".dg-layered") : null;
  let overlay = null;  // {key, els: [elements added], boxes: node -> <g>, nums: node -> <text>}
  const boxOf = (i) => (overlay && overlay.boxes.get(i)) || boxEl.get(D.nodes[i].id);

  function around(it, lv) {  // the opened group of level lv the step lies in, or null
    for (const k of opened) {
      const g = D.groups[k];
      if (g.level === lv && !g.loss && g.first <= it.first && it.last <= g.last) return k;
    }
    return null;
  }
  function showOpened(it) {
    const k = around(it, "neuron"), l = around(it, "layer");
    // on graphviz's full drawing a neuron's operations are already there, each in its box
    const drawn = k !== null && !D.layered && D.groups[k].nodes.every((i) => D.nodes[i].own);
    const key = (drawn ? null : k) + "/" + l;
    if (overlay && overlay.key === key) return;
    if (overlay) for (const el of overlay.els) el.remove();
    overlay = { key, els: [], boxes: new Map(), nums: new Map(), titles: [] };
    if (l !== null) frameLayer(D.groups[l]);
    if (k !== null && !drawn) drawNeuron(D.groups[k]);
  }
  function layerOf(el) {  // where an overlay goes: beside el, in el's coordinates
    if (!layeredDiv) return { add: (g) => { el.parentNode.appendChild(g); return g; } };
    return { add: (g, b) => {  // a tile of its own over the layered drawing, at b
      const tile = svgEl("svg", { class: "dg-tile dg-opened", width: b.width, height: b.height,
        viewBox: b.x + " " + b.y + " " + b.width + " " + b.height,
        style: "position:absolute;left:" + b.x + "px;top:" + b.y + "px;overflow:visible" });
      tile.appendChild(g);
      layeredDiv.appendChild(tile);
      return tile;
    } };
  }
  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function frameLayer(g) {
    const boxes = [...new Set(g.nodes.map((i) => boxEl.get(D.nodes[i].id)))].filter(Boolean);
    if (!boxes.length) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const el of boxes) {
      const b = geomOf(el);  // a tile away from the view is not laid out: its halos' attributes
      x0 = Math.min(x0, b.x); y0 = Math.min(y0, b.y); x1 = Math.max(x1, b.x + b.w); y1 = Math.max(y1, b.y + b.h);
    }
    const b = { x: x0 - 10, y: y0 - 30, width: x1 - x0 + 20, height: y1 - y0 + 44 };
    const frame = svgEl("g", { id: "dg-open-frame", class: "dg-open-frame" });
    frame.append(svgEl("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 10 }));
    frame.append(...title(g.title + ", opened (c closes)", b));
    overlay.els.push(layerOf(boxes[0]).add(frame, b));
  }
  function drawNeuron(g) {
    const inside = new Set(g.nodes), nodes = [...g.nodes].sort((a, b) => a - b);
    const ROW = 48, BOX = 26, PAD = 12, HEAD = 30, GAP = 48, CHAR = 7.4;
    const col = new Map(), row = new Map(), free = [0, 0], width = [150, 150];
    for (const i of nodes) {
      const own = (parentsOf.get(i) || []).filter((p) => inside.has(p));
      const c = own.length ? 1 : 0;
      const r = Math.max(free[c], ...own.map((p) => row.get(p)));
      col.set(i, c); row.set(i, r); free[c] = r + 1;
      width[c] = Math.max(width[c], (D.nodes[i].name.length + 2 + D.nodes[i].op.length) * CHAR + 16);
    }
    const w = PAD + width[0] + GAP + width[1] + PAD;
    let h = HEAD + Math.max(...free) * ROW + PAD;
    const anchor = boxEl.get(D.nodes[nodes[nodes.length - 1]].id);
    if (!anchor) return;
    // The neuron's own box stays uncovered, with its name above it and its line of numbers below: it
    // lists the weights and bias the steps update (a panel drawn over it hid them). The panel goes below
    // the box, else above it, else beside it (right, then left), wherever it fits the drawing whole.
    const ga = geomOf(anchor), a = { x: ga.x, y: ga.y, width: ga.w, height: ga.h }, SEP = 8;
    const wide = ga.node === null ? 0 : Math.max(0, (lineWidth(ga.node) + 4 - ga.w) / 2);
    const keep = { x0: a.x - wide, x1: a.x + a.width + wide, y0: a.y - (layeredDiv ? 0 : 16),
                   y1: a.y + a.height + (layeredDiv ? 0 : 14) };
    let x = a.x, y = keep.y1 + SEP;
    if (!layeredDiv) {  // kept inside graphviz's drawing where it fits (past its edges the SVG cuts it)
      const all = anchor.parentNode.getBBox(), right = all.x + all.width, bottom = all.y + all.height;
      const inX = (x) => Math.max(all.x, Math.min(x, right - w)), inY = (y) => Math.max(all.y, Math.min(y, bottom - h));
      if (y + h <= bottom) x = inX(x);
      else if (keep.y0 - SEP - h >= all.y) [x, y] = [inX(x), keep.y0 - SEP - h];
      else if (keep.x1 + SEP + w <= right) [x, y] = [keep.x1 + SEP, inY(a.y)];
      else if (keep.x0 - SEP - w >= all.x) [x, y] = [keep.x0 - SEP - w, inY(a.y)];
      else x = inX(x);  // bigger than the room around the box: below it, cut by the drawing's foot
    }
    // no box left half under the panel (its title half hidden): an edge that would cut one takes it in,
    // or, where that would cover the neuron's own box, the panel moves past it
    const covers = (y, h) => x < keep.x1 && keep.x0 < x + w && y < keep.y1 && keep.y0 < y + h;
    for (const g of boxEl.values()) {
      const b = g && g !== anchor ? geomOf(g) : null;
      if (!b || b.x + b.w <= x || x + w <= b.x) continue;
      if (b.y < y && y < b.y + b.h) {
        if (covers(b.y - 4, h + y - b.y + 4)) y = b.y + b.h + 4;
        else { h += y - b.y + 4; y = b.y - 4; }
      }
      if (b.y < y + h && y + h < b.y + b.h) {
        if (covers(y, b.y + b.h + 4 - y)) y = b.y - 4 - h;
        else h = b.y + b.h + 4 - y;
      }
    }
    overlay.anchor = anchor;
    const panel = svgEl("g", { id: "dg-open-panel", class: "dg-open-panel" });
    panel.append(svgEl("rect", { class: "dg-open-bg", x, y, width: w, height: h, rx: 8 }));
    const at = (i) => [x + PAD + (col.get(i) ? width[0] + GAP : 0), y + HEAD + row.get(i) * ROW];
    for (const i of nodes) {
      const [bx, by] = at(i), bw = width[col.get(i)];
      for (const p of parentsOf.get(i) || []) {
        if (!inside.has(p)) continue;
        const [px, py] = at(p), pw = width[col.get(p)];
        const d = col.get(p) === col.get(i)  // down the right column: round its right side
          ? `M${px + pw},${py + BOX / 2}C${px + pw + 30},${py + BOX / 2} ${bx + bw + 30},${by + BOX / 2} ${bx + bw},${by + BOX / 2}`
          : `M${px + pw},${py + BOX / 2}L${bx},${by + BOX / 2}`;
        panel.appendChild(svgEl("path", { class: "dg-open-edge", d }));
      }
    }
    for (const i of nodes) {
      const [bx, by] = at(i), bw = width[col.get(i)], n = D.nodes[i];
      const box = svgEl("g", { id: "dg-open-" + i, class: "dg-open-op" });
      box.append(svgEl("rect", { class: "dg-halo", x: bx - 4, y: by - 4, width: bw + 8, height: BOX + 22, rx: 6 }),
                 svgEl("rect", { class: "dg-open-box", x: bx, y: by, width: bw, height: BOX, rx: 5 }),
                 svgEl("text", { class: "dg-label", x: bx + 8, y: by + 18 }, n.name + "  " + n.op));
      const t = svgEl("text", { class: "dg-num", x: bx + bw / 2, y: by + BOX + 13, "text-anchor": "middle" });
      t.append(document.createTextNode(""), svgEl("tspan", { class: "dg-g" }));
      box.appendChild(t);
      panel.appendChild(box);
      overlay.boxes.set(i, box);
      overlay.nums.set(i, t);
      if (shownV[i] !== undefined) writeNumbers(t, shownV[i], shownG[i], shownK[i]);
    }
    panel.append(...title(g.title + ": its operations (c closes)", { x, y, width: w, height: h }));
    overlay.els.push(layerOf(anchor).add(panel, { x, y, width: w, height: h }));
  }
  // An opened neuron's or layer's title, on a white band, at the top left of its frame b, or where
  // pinTitles moves it so that it stays in view while the frame is bigger than the view.
  function title(text, b) {
    // where it would be: pinTitles measures the text and moves both once they are on the page
    const band = svgEl("rect", { class: "dg-open-band", x: b.x + 4, y: b.y + 4, width: 0, height: 20, rx: 3 });
    const t = svgEl("text", { class: "dg-open-title", x: b.x + 8, y: b.y + 19 }, text);
    overlay.titles.push({ t, band, b });
    return [band, t];
  }
  // Each title at its frame's top left, or, while the frame is in view but its top left is not, at the
  // view's top left edge (as a table's sticky header), kept inside the frame and, before that, wholly
  // in view: a frame bigger than the view keeps its title readable however it is scrolled.
  function pinTitles() {
    if (!overlay) return;
    const d = $("dg-diagram"), v = d.getBoundingClientRect();
    const clamp = (x, lo, hi) => Math.max(lo, Math.min(x, hi));
    for (const { t, band, b } of overlay.titles) {
      const m = t.parentNode.getScreenCTM();
      if (!m) continue;
      const w = (t.dgWidth ??= t.getComputedTextLength());
      // the view in the frame's units
      const L = (v.left + d.clientLeft - m.e) / m.a, T = (v.top + d.clientTop - m.f) / m.d;
      const R = L + d.clientWidth / m.a, B = T + d.clientHeight / m.d;
      let x = b.x + 8, y = b.y + 4;
      if (L < b.x + b.width && b.x < R && T < b.y + b.height && b.y < B) {
        x = clamp(L + 6, x, b.x + b.width - w - 8);
        y = clamp(T + 4, y, b.y + b.height - 24);
        if (R - L > w + 12) x = clamp(x, L + 6, R - 6 - w);
        if (B - T > 28) y = clamp(y, T + 4, B - 24);
      }
      t.setAttribute("x", x);
      t.setAttribute("y", y + 15);
      for (const [k, val] of [["x", x - 4], ["y", y], ["width", w + 8]]) band.setAttribute(k, val);
    }
  }
  function writeNumbers(t, v, g, known) {  // into the text nodes there (new ones are left to the GC)
    t.parentNode.classList.toggle("dg-pending", !known);
    if (t.firstChild.data !== v) t.firstChild.data = v;  // a backward step changes the gradient alone
    const span = t.lastChild, text = g ? "  ∇ " + g : "";
    if (span.firstChild) { if (span.firstChild.data !== text) span.firstChild.data = text; }
    else if (text) span.textContent = text;
  }

  function render() {
    const it = items[cur], f = info(it), hide = hidden(it), s = state(it, hide);
    // The step's lines of numbers, worked out first (their widths place the view) and written below.
    const asked = new Set(hide ? f.asks.map((a) => a.pos) : []), was = unseen;
    unseen = unanswered();
    const redraw = s.dirty === null ? [...D.nodes.keys()]
      : [...new Set([...s.dirty, ...wasAsked, ...asked, ...was, ...unseen])];
    wasAsked = asked;
    const changed = [];
    for (const i of redraw) {
      const known = i in s.values;
      const v = known ? fmtValue(i, s.values[i]) : "";
      const g = asked.has(i) ? "?" : i in s.grads && !unseen.has(i) ? fmtGrad(i, s.grads[i]) : "";
      if (shownV[i] === v && shownG[i] === g && shownK[i] === known) continue;
      shownV[i] = v; shownG[i] = g; shownK[i] = known;
      shownChars[i] = v.length + (g ? 3 + g.length : 0);  // SVG collapses the two spaces before ∇
      changed.push(i);
    }
    // The view first, while the page is still laid out as the last frame left it: the places of the
    // step's boxes, read now, cost no layout, and the tiles it brings on screen are shown before the
    // step writes into them. Every write of the step comes after, so the browser lays the page out once.
    showOpened(it);
    const focus = focusEl(it);
    showStep(it, focus);
    const phase = phaseOf(it), forward = phase === "start" || phase === "forward";
    document.body.classList.toggle("dg-forward", forward);
    document.body.classList.toggle("dg-backward", !forward);
    $("dg-phase").textContent = { start: "start", forward: "forward pass", seed: "backward pass: seed",
                                  backward: "backward pass" }[phase];
    $("dg-example").textContent = D.example ? "· " + D.example : "";
    $("dg-counter").textContent = (cur + 1) + " / " + items.length;
    $("dg-prev").disabled = cur === 0;
    $("dg-next").disabled = cur === items.length - 1;
    $("dg-open").disabled = it.g === undefined;
    $("dg-close").disabled = ![...opened].some((k) => D.groups[k].first <= it.first && it.first <= D.groups[k].last);
    stepText(hide ? "" : f.text);
    $("dg-text").hidden = hide;
    $("dg-hint").hidden = !hide;
    writeLines($("dg-hint"), hide ? f.hint : "");
    renderPredict(f, hide);
    renderMath(it.g !== undefined ? D.groups[it.g].math : null, hide);
    const current = nodesOf(it);
    for (const i of touchedOf(it)) { mark(boxOf(i), TOUCHED); if (tableBox.open) mark(rows[i], TOUCHED); }
    for (const i of current) {
      const g = boxOf(i);
      if (want.has(g)) want.set(g, want.get(g) & ~TOUCHED);
      mark(g, CURRENT);
      if (tableBox.open) mark(rows[i], CURRENT);
    }
    const start = it.g === undefined && D.frames[it.f].kind === "start";  // its text lists every leaf
    // a coarse step's text names no unlabelled node inside a neuron (the w·x products): those stay unlisted
    const named = (i) => it.g === undefined || D.nodes[i].label;
    stepNames = [current.filter(named),
                 start ? Object.keys(D.frames[it.f].values).map(Number) : [...touchedOf(it)].filter(named)];
    if (inspected !== null) inspect(inspected);  // sets inspectorNames first: showInside runs once a step
    showInside(stepNames[0], [...stepNames[1], ...inspectorNames]);
    for (const i of changed) {
      const t = overlay && overlay.nums.get(i);
      if (t) writeNumbers(t, shownV[i], shownG[i], shownK[i]);
      if (!numEl[i]) continue;
      // a box in a tile away from the view gets its numbers when the tile comes near (showTiles)
      const tile = numTile[i];
      if (tile && !tile.shown) tile.pending.add(i);
      else writeNumbers(numEl[i], shownV[i], shownG[i], shownK[i]);
    }
    if (tableBox.open) drawRows(redraw);
    if (focus) mark(focus, FOCUS);
    applyMarks();
    // the one layout of the step (and the frame's): nothing is written after it but these boxes' classes
    fitBox($("dg-math"));
    if (inspected !== null) fitBox($("dg-inspector"));
  }

  // A step's text, its lines past the first HEAD in a block the browser lays out only once it comes
  // near the view (content-visibility: auto): the README loss's last step over 100 points lists 337
  // parameters' updates, 47,000 characters, and laying them all out took 20-25 ms of that step (the
  // side panel shows its first 40 lines or so). The page shows the same text, and finding in it
  // (Ctrl+F) reaches the lines not yet laid out.
  const HEAD = 60;
  function stepText(text) {
    const box = $("dg-text");
    let cut = -1;
    for (let k = 0; k < HEAD && (cut = text.indexOf("\n", cut + 1)) >= 0;) k++;
    if (cut < 0 || cut === text.length - 1) { writeLines(box, text); return; }
    writeLines(box, text.slice(0, cut));   // 60 lines: over HANG_MOST, so written as they are
    box.dgText = text;
    const rest = document.createElement("div");
    rest.className = "dg-text-rest";
    rest.textContent = text.slice(cut + 1);   // as it is: a span per line here cost the loss's step 60 ms
    box.append(rest);
    // its height until laid out: two wrapped rows of 19.5 px a line (auto: then the height laid out)
    rest.style.containIntrinsicSize = "auto " + Math.round(39 * rest.textContent.split("\n").length) + "px";
  }

  // MathML in the browsers sets a formula on one line however wide it is (no line breaking of its
  // own): the inspector's chain-rule sum over an input's 16 uses was 4,000 px in a 520 px panel. A
  // formula wider than its box is set again on lines, an <mtable> of one row per line, each line after
  // the first indented and starting with the "=" or "+" it breaks before, packed from its parts' widths
  // as laid out on one line (read where the step reads the layout anyway: a step pays for the layout of
  // its box again only when its formula is too wide). The one-line formula is kept (math.dgFlat), so
  // the next neuron's formula of the same shape only has its numbers written (renderMath).
  // A step's text, its lines as they are, but a line too long for the box breaks only where its
  // expression does: before " = ", " → " or " += " (a run between them too long still, before " + ",
  // " · ", " × " or another operator, or after a comma, else at a space), never inside a number or a
  // name, and its further lines are indented two past where the line's text begins (after
  // "step 9/646  mul: " on an op's line, after its indent on the others), so each gradient's "+=" lines
  // stay in their column (the
  // panel wrapped "→ 28.0247 + 3.0" / "= 31.0247" at the box's edge, under "step"). Each run is a span
  // that does not wrap, and the text is the step's own (what a copy or a reader gets).
  let textCols = 0;  // characters across the text box, measured once (and again after a resize)
  window.addEventListener("resize", () => {
    textCols = 0;
    stepText($("dg-text").dgText || "");
    writeLines($("dg-hint"), $("dg-hint").dgText || "");
  });
  // A text of more lines than HANG_MOST is written as it is: a span per line cost the README loss's
  // step (314 lines, 60 of them laid out at once) 50 ms of layout, which a step's 50 ms cannot spare.
  const HANG_MOST = 40;
  function writeLines(el, text) {
    el.textContent = "";
    el.dgText = text;
    if (!text) return;
    if (text.split("\n", HANG_MOST + 1).length > HANG_MOST) { el.textContent = text; return; }
    if (!textCols) {
      const css = getComputedStyle(el), measure = document.createElement("canvas").getContext("2d");
      measure.font = css.fontWeight + " " + css.fontSize + " " + css.fontFamily;
      const room = (el.clientWidth || el.parentNode.clientWidth - 16) - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight);
      textCols = Math.max(20, Math.floor(room / (measure.measureText("0123456789").width / 10)) - 1);
    }
    let plain = "";  // lines that fit, written as one text node: a span each for the few that do not
    text.split("\n").forEach((line, k) => {
      if (k) plain += "\n";
      if (line.length <= textCols) { plain += line; return; }
      if (plain) el.append(plain);
      plain = "";
      const head = /^step \S+ +[^:]*: /.exec(line);  // a coarse step's text holds op steps' lines too
      const hang = (head ? head[0].length : line.length - line.trimStart().length) + 2;
      const span = document.createElement("span");
      span.className = "dg-line";
      span.style.paddingLeft = hang + "ch";
      span.style.textIndent = -hang + "ch";
      const room = Math.max(10, textCols - hang);
      line.split(/ (?=(?:=|→|\+=) )/).forEach((run, j) => {
        if (j) span.append(" ");
        const parts = run.length <= room ? [run] : run.split(/ (?=[-+−·×/] )|(?<=,) /).flatMap((p) => p.length <= room ? [p] : p.split(" "));
        parts.forEach((part, i) => {
          if (i) span.append(" ");
          const r = document.createElement("span");
          r.className = part.length <= room ? "dg-run" : "dg-run dg-long";
          r.textContent = part;
          span.append(r);
        });
      });
      el.append(span);
    });
    if (plain) el.append(plain);
  }
  function fitBox(box) {
    const math = box.hidden ? null : box.querySelector(":scope > math");
    const css = getComputedStyle(box);
    const room = box.clientWidth - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight) - 2;
    // (a block <math> is as wide as its box: its parts' extent is the formula's width)
    const extent = (m) => m.lastElementChild.getBoundingClientRect().right - m.firstElementChild.getBoundingClientRect().left;
    if (math && math.firstElementChild && extent(math) > room) {
      const flat = math.dgFlat ? math.dgFlat.cloneNode(true) : math;
      if (math.dgFlat) math.replaceWith(flat);  // set on lines for a wider box: again, from one line
      setOnLines(flat, room);
    }
    markOverflow(box);
  }
  function setOnLines(math, room) {
    const parts = [...math.children], left = parts.map((e) => e.getBoundingClientRect().left);
    const end = math.lastElementChild.getBoundingClientRect().right;
    const breaks = parts.flatMap((e, k) => k > 0 && e.localName === "mo" && (e.textContent === "=" ||
      e.textContent === "+") ? [k] : []);
    const INDENT = 24;  // px: the 1.5em of a line after the first
    const lines = [];
    let first = 0, width = 0;
    [...breaks, parts.length].forEach((k, j) => {
      const from = j ? breaks[j - 1] : 0, w = (k < parts.length ? left[k] : end) - left[from];
      // (lines filled to 40 px short of the box: the next neuron's numbers, a digit or two wider, fit too)
      if (from > first && width + w > room - 40 - (first ? INDENT : 0)) { lines.push([first, from]); first = from; width = 0; }
      width += w;
    });
    lines.push([first, parts.length]);
    if (lines.length < 2) return;
    const flat = math.cloneNode(true), table = document.createElementNS(MATHNS, "mtable");
    for (const [a, b] of lines) {
      const row = document.createElementNS(MATHNS, "mrow");
      if (a) {
        const indent = document.createElementNS(MATHNS, "mspace");
        indent.setAttribute("width", INDENT + "px");
        row.appendChild(indent);
      }
      row.append(...parts.slice(a, b));
      const td = document.createElementNS(MATHNS, "mtd"), tr = document.createElementNS(MATHNS, "mtr");
      td.appendChild(row);
      tr.appendChild(td);
      table.appendChild(tr);
    }
    math.replaceChildren(table);
    math.dgFlat = flat;
  }

  // A formula wider than its box scrolls sideways: the box then shows a scroll bar and a shadow at the
  // edge where more of it is hidden, so the learner knows to scroll.
  function markOverflow(box) {
    const more = !box.hidden && box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle("dg-overflows", more);
    box.classList.toggle("dg-more-right", more && box.scrollLeft + box.clientWidth < box.scrollWidth - 1);
    box.classList.toggle("dg-more-left", more && box.scrollLeft > 1);
  }
  for (const id of ["dg-math", "dg-inspector"]) $(id).addEventListener("scroll", (e) => markOverflow(e.target));
  window.addEventListener("resize", () => { fitBox($("dg-math")); fitBox($("dg-inspector")); });

  // The step in view: the current boxes, the opened neuron or layer, and at the neuron level the
  // neuron's cluster with its title. All of it when it fits; else as much of it as fits with the focus
  // node, per axis: the view slides inside the step's extent as far towards its start (where a
  // neuron's title and inputs are) as keeps the focus node in view.
  // A box's place on screen comes from its halo's attributes (a layered box's style) and its SVG's (the
  // layered drawing's) screen transform, read once per SVG: reading each box's own rectangle made the browser lay out again, for each box, the layered
  // drawing's tiles that are off screen (skipped: showTiles), 0.2 s for the loss's 612 boxes.
  // (Nor is a group's own rectangle used: Chromium puts an empty <text>, a line of numbers not yet
  // known, at the drawing's origin, which stretched a step's extent to it.)
  // The layered drawing's tiles all map the drawing's units alike (a tile's style is its place), so one
  // transform serves them, read from the drawing's div: a tile away from the view has none of its own.
  function haloRect(el, ctm) {
    const b = geomOf(el), p = tileOf.has(el.parentNode) ? layeredDiv : el.parentNode;
    if (!ctm.has(p)) ctm.set(p, p === layeredDiv ? layeredCTM() : p.getScreenCTM());
    const m = ctm.get(p), { x, y, w } = b;
    // graphviz's line of numbers sits under the halo (the layered drawing's and a panel's inside it)
    const below = D.layered || b.panel ? 0 : 12;  // its baseline + descent
    // and as wide as that line when it is wider than the box
    const out = b.node === null ? 0 : Math.max(0, (lineWidth(b.node) + 4 - w) / 2);
    const [x0, x1] = [m.a * (x - out) + m.e, m.a * (x + w + out) + m.e];
    const [y0, y1] = [m.d * y + m.f, m.d * (y + b.h + below) + m.f];
    return { left: Math.min(x0, x1), right: Math.max(x0, x1), top: Math.min(y0, y1), bottom: Math.max(y0, y1) };
  }
  // A box's halo (x, y, w, h in its SVG's units) and the node whose line of numbers it shows, read
  // once: a step changes neither (reading them anew for each of the loss's 612 boxes was a third of
  // that step's script).
  const geoms = new WeakMap(), HALO_H = 50;  // px: a layered box's halo's height (viz.layered's .node)
  function geomOf(el) {
    let b = geoms.get(el);
    if (b) return b;
    const h = el.querySelector(":scope > .dg-halo"), num = el.querySelector(":scope > .dg-num");
    const panel = el.classList.contains("dg-open-op"), tile = tileOf.get(el.parentNode);
    const node = panel ? +el.id.slice("dg-open-".length) : num && num.id ? +num.id.slice("dg-num-".length) : null;
    // a layered box (HTML) is its halo, placed in its tile by its style: read without laying it out
    b = tile ? { x: tile.x0 + parseFloat(el.style.left), y: tile.y0 + parseFloat(el.style.top),
                 w: parseFloat(el.style.width), h: HALO_H, panel, node }
      : { x: h.x.baseVal.value, y: h.y.baseVal.value, w: h.width.baseVal.value, h: h.height.baseVal.value, panel, node };
    geoms.set(el, b);
    return b;
  }
  // The width of node i's line of numbers ("value  ∇ grad", as the step writes it), in the drawing's
  // units: its characters times the width of one (the line's font is monospaced), measured once on a
  // canvas. Asking the SVG text its length would lay the drawing out again; measuring each line's
  // text took 15 ms on the loss's 612.
  let charWidth = 0;
  function lineWidth(i) {
    if (!charWidth) {
      const num = numEl.find(Boolean) || document.querySelector(".dg-num");
      if (!num) return 0;
      const measure = document.createElement("canvas").getContext("2d"), css = getComputedStyle(num);
      measure.font = css.fontWeight + " " + css.fontSize + " " + css.fontFamily;
      charWidth = measure.measureText("0123456789").width / 10;
    }
    return (shownChars[i] || 0) * charWidth;
  }
  function stepRects(it, focus, ctm) {
    const rects = [];
    if (overlay) {  // an opened neuron's panel and its box (the weights it lists), an opened layer's frame
      for (const el of overlay.els) rects.push(el.querySelector(".dg-open-bg, .dg-open-frame > rect").getBoundingClientRect());
      if (overlay.anchor) rects.push(haloRect(overlay.anchor, ctm));
    }
    const cluster = svg && it.g !== undefined && D.groups[it.g].level === "neuron" &&
      !focus.classList.contains("dg-open-op") && clusterAt(focus);
    if (cluster) rects.push(cluster.getBoundingClientRect());
    return rects;
  }
  // The neuron's cluster around a box (graphviz draws clusters apart from their nodes): found by the
  // boxes' centres in the drawing's own units, which zoom and scrolling leave alone, so measured once.
  let clusterBoxes = null;
  function clusterAt(el) {
    const g = el.querySelector(":scope > .dg-halo")?.getBBox();
    if (!g) return null;
    clusterBoxes ??= [...svg.querySelectorAll("g.cluster")].map((cl) => [cl, cl.getBBox()]);
    const cx = g.x + g.width / 2, cy = g.y + g.height / 2;
    const hit = clusterBoxes.find(([, b]) => b.x <= cx && cx <= b.x + b.width && b.y <= cy && cy <= b.y + b.height);
    return hit ? hit[0] : null;
  }
  // The node the step is about: an operation's node; a coarse step's (a neuron, a layer, the loss) box
  // at its start, the top left of its boxes, so that a step too big for the view is shown from there.
  // Found in the drawing's own units (the halos' attributes: no layout), once a step.
  const starts0 = new Map();  // key(it) -> its box at the start
  function boxesOf(nodes) {  // the boxes showing nodes, each once (a collapsed neuron's holds several)
    const out = new Set();
    for (const i of nodes) { const el = boxOf(i); if (el) out.add(el); }
    return out;
  }
  function focusEl(it) {
    const current = nodesOf(it);
    if (!current.length) return null;
    if (it.g === undefined || current.length === 1) return boxOf(current[0]);
    const k = key(it) + "/" + (overlay ? overlay.key : "");
    if (starts0.has(k)) return starts0.get(k);
    const boxes = boxesOf(current);
    let x0 = Infinity, y0 = Infinity, best = null, d = Infinity;
    for (const el of boxes) { x0 = Math.min(x0, geomOf(el).x); y0 = Math.min(y0, geomOf(el).y); }
    for (const el of boxes) {
      const dist = Math.hypot(geomOf(el).x - x0, geomOf(el).y - y0);
      if (dist < d) { best = el; d = dist; }
    }
    starts0.set(k, best);
    return best;
  }
  function showStep(it, f) {
    if (f) scrollTo(it, f);
    pinTitles();
    showTiles();
  }

  // ---- the layered drawing's tiles of boxes: shown near the view, left out of the page elsewhere -------
  // A tile near the view (NEAR) is displayed, every other one is display: none, so a step that writes
  // numbers or classes into boxes away from the view (the loss's 612) costs no style or layout there;
  // a tile coming near is styled and laid out (a band of boxes) in the step that brings it. Hidden
  // with content-visibility: hidden instead, as before, tiles kept their layout, but every change of
  // that property cost 7-12 ms of main-thread time in Chromium, whichever element it was on (one tile,
  // four, or a small <div> beside the drawing: 9 ms, 2 ms once the hidden tiles were removed), paid on
  // every step that brought a tile near: the worst steps of the neuron level. Shown, a tile is laid
  // out (display) in 2-4 ms. The drawing's own coordinates are its tiles' viewBox units.
  // A tile away from the view is not written to either: the numbers (pending) and the classes (stale)
  // a step gives its boxes wait there until the tile comes near (the loss's step changes 612 boxes, about
  // 20 of them in view: writing them all was 13 ms of that step's script).
  const tiles = layeredDiv ? [...layeredDiv.querySelectorAll(":scope > .dg-boxes")].map((el) => {
    const x = parseFloat(el.style.left), y = parseFloat(el.style.top);
    return { el, x0: x, y0: y, x1: x + parseFloat(el.style.width), y1: y + parseFloat(el.style.height),
             shown: false, pending: new Set(), stale: new Set() };
  }) : [];
  const tileOf = new Map(tiles.map((t) => [t.el, t]));  // a tile's element -> the tile
  const numTile = numEl.map((t) => t && tileOf.get(t.parentNode.parentNode));  // node -> its box's tile
  if (tiles.length) $("dg-diagram").dataset.tilesReady = String(tiles.length);  // for the tests
  // drawing px around the view also shown, so that a small scroll brings no tile in: none, as every px
  // of it is laid out on each jump, which a scroll by hand seldom needs (150 px laid out about a third
  // more objects on a jump, the 100-point page's worst step; 40 px, on the eager L2 page's backward
  // pass, 10,355 objects where none lays out 9,418)
  const NEAR = 0;
  function layeredCTM() {  // from the drawing's units to the screen's
    const r = layeredDiv.getBoundingClientRect(), s = r.width / layeredDiv.offsetWidth || 1;
    return { a: s, d: s, e: r.left, f: r.top };
  }
  function viewRect() {  // the view in the drawing's units
    const d = diagram.getBoundingClientRect(), r = layeredDiv.getBoundingClientRect();
    const s = r.width / layeredDiv.offsetWidth || 1;  // on screen px per drawing px (the zoom)
    const x0 = (d.left + diagram.clientLeft - r.left) / s, y0 = (d.top + diagram.clientTop - r.top) / s;
    return { x0, y0, x1: x0 + diagram.clientWidth / s, y1: y0 + diagram.clientHeight / s };
  }
  function showTiles() {
    if (!tiles.length) return;
    const v = viewRect();
    for (const t of tiles) {
      const on = t.x0 < v.x1 + NEAR && v.x0 - NEAR < t.x1 && t.y0 < v.y1 + NEAR && v.y0 - NEAR < t.y1;
      if (on === t.shown) continue;
      t.el.style.display = on ? "" : "none";
      t.shown = on;
      if (!on) continue;
      for (const i of t.pending) writeNumbers(numEl[i], shownV[i], shownG[i], shownK[i]);
      t.pending.clear();
      for (const el of t.stale) setMarks(el, marked.get(el) || 0);
      t.stale.clear();
    }
  }
  const union = (a, r) => ({ left: Math.min(a.left, r.left), right: Math.max(a.right, r.right),
                             top: Math.min(a.top, r.top), bottom: Math.max(a.bottom, r.bottom) });
  function scrollTo(it, f) {
    const ctm = new Map(), box = $("dg-diagram"), v = box.getBoundingClientRect(), fr = haloRect(f, ctm);
    const M = 8;  // a margin, so the halo is not cut by the edge
    // the view less the layered legend's band at its top (it stays there, over the drawing: stepper.css)
    const band = layeredDiv ? TOP : 0, top = v.top + band, height = box.clientHeight - band;
    const fits = (r) => r.right - r.left <= box.clientWidth - 2 * M && r.bottom - r.top <= height - 2 * M;
    // The step's highlighted boxes: its current boxes, then those it reads or updates (its operands, the
    // parents it passes gradients to) while they still fit the view, nearest the focus first: all of
    // them when they fit (an operation's two parents at the pane's edge were cut while the pane was two
    // thirds empty), else as many as fit. Their places come from the same halos, read before any write.
    const context = stepRects(it, f, ctm);  // the opened neuron's panel, a layer's frame, the cluster
    let core = fr;
    for (const el of boxesOf(nodesOf(it))) core = union(core, haloRect(el, ctm));
    if (fits(core)) {
      const cx = (fr.left + fr.right) / 2, cy = (fr.top + fr.bottom) / 2;
      const far = (r) => Math.hypot((r.left + r.right) / 2 - cx, (r.top + r.bottom) / 2 - cy);
      const els = new Set([...touchedOf(it)].map(boxOf));
      const rs = [...els].filter(Boolean).map((el) => haloRect(el, ctm)).sort((a, b) => far(a) - far(b));
      for (const r of rs) {
        const w = union(core, r);
        if (fits(w)) core = w;
      }
    }
    const focus = fits(core) ? core : fr;  // what the view keeps whole: the highlighted boxes, else the focus
    // and around them the step's context, all of it when it fits (an opened neuron's panel is often
    // taller than the view: then the highlighted boxes, which the panel's extent once pushed out of view)
    const u = context.reduce(union, core);
    // the shift of the view along one axis: none when the step's extent (or the view, when the extent is
    // bigger) is already covered; else the extent centred, or the view at its start as far as keeps the
    // highlighted boxes in it
    const shift = (lo, hi, flo, fhi, vlo, vhi) => {
      const size = vhi - vlo - 2 * M;
      if (hi - lo <= size) return lo >= vlo + M && hi <= vhi - M ? 0 : (lo + hi) / 2 - (vlo + vhi) / 2;
      const want = Math.max(lo, Math.min(flo, fhi - size));  // the view's left (top) edge
      return want - (vlo + M);
    };
    box.scrollLeft += shift(u.left, u.right, focus.left, focus.right, v.left, v.left + box.clientWidth);
    box.scrollTop += shift(u.top, u.bottom, focus.top, focus.bottom, top, top + height);
  }

  // ---- a neuron's backward step typeset: δ = f′(z) · Σ_k w_k δ_k, with its numbers --------------------
  // a factor of a product as the steps' text writes one (autodiff.steps.factor): a negative one in brackets,
  // 0.488 · (-9.531e-04), not 0.488 · -9.531e-04; in the number's own element, so a formula keeps its shape
  function factor(x) { const s = fmt(x); return s.startsWith("-") ? "(" + s + ")" : s; }
  function sub(base, index, tag) {
    const e = document.createElementNS(MATHNS, "msub");
    e.append(mi(base, tag), mi(index));
    return e;
  }
  function renderMath(m, hide) {
    const box = $("dg-math");
    box.hidden = !m;
    if (!m) { box.textContent = ""; return; }
    const math = document.createElementNS(MATHNS, "math");
    math.setAttribute("display", "block");
    const sum = document.createElementNS(MATHNS, "munder");
    sum.append(mi("∑", "mo"), mi(m.weights ? "k" : "u"));
    math.append(mi("δ"), mi("=", "mo"));
    if (m.act) math.append(mi(m.act + "′"), mi("(", "mo"), mi("z"), mi(")", "mo"), mi("·", "mo"));
    // a hidden neuron's δ sums w_k δ_k over the next layer; an output neuron's, ∂u/∂a · ∂L/∂u over the
    // loss's nodes u that read it (no weight there)
    if (m.weights) math.append(sum, sub("w", "k"), sub("δ", "k"), mi("=", "mo"));
    else math.append(sum, partial("u", m.act ? "a" : "z"), mi("·", "mo"), partial("L", "u"), mi("=", "mo"));
    if (m.act) math.append(mi(factor(m.f1), "mn"), mi("·", "mo"), mi("(", "mo"));
    m.terms.forEach(([w, d], k) => {
      if (k) math.appendChild(mi("+", "mo"));
      math.append(mi(factor(w), "mn"), mi("·", "mo"), mi(factor(d), "mn"));
    });
    if (!m.terms.length) math.append(mi("1", "mn"));
    if (m.act) math.appendChild(mi(")", "mo"));
    math.append(mi("=", "mo"), mi(hide ? "?" : fmt(m.delta), "mn"));
    // The next neuron of a layer has a formula of the same shape: only its numbers are written into the
    // one on the page, so the browser styles no new elements (a 16-term sum is about 100) and the old
    // ones are not left to the garbage collector, on every step.
    // (A formula set on lines by fitBox keeps its one-line form: the numbers go into both.)
    const old = box.firstElementChild, flat = old && (old.dgFlat || old);
    if (old && sameShape(flat, math)) {
      copyTexts(math, flat);
      if (old.dgFlat) copyLeaves(math, old);
    } else box.replaceChildren(math);
  }
  function sameShape(a, b) {
    if (a.tagName !== b.tagName || a.childElementCount !== b.childElementCount) return false;
    for (let k = 0; k < a.childElementCount; k++) if (!sameShape(a.children[k], b.children[k])) return false;
    return true;
  }
  function copyLeaves(from, to) {  // from's leaves' texts into to's, in order (to's lines' indents aside)
    const leaves = (e) => [...e.querySelectorAll("*")].filter((c) => !c.childElementCount && c.localName !== "mspace");
    const a = leaves(from), b = leaves(to);
    a.forEach((e, k) => {  // into the text node there (no new node: nothing for the browser to style)
      const t = b[k].firstChild, text = e.textContent;
      if (t && t.nodeType === Node.TEXT_NODE && !t.nextSibling) { if (t.data !== text) t.data = text; }
      else if (b[k].textContent !== text) b[k].textContent = text;
    });
  }
  function copyTexts(from, to) {  // from's leaves' texts into to's, where they differ
    if (!from.childElementCount) {
      const text = from.textContent, t = to.firstChild;
      if (t && t.nodeType === Node.TEXT_NODE && !t.nextSibling) { if (t.data !== text) t.data = text; }
      else if (to.textContent !== text) to.textContent = text;
      return;
    }
    for (let k = 0; k < from.childElementCount; k++) copyTexts(from.children[k], to.children[k]);
  }

  // ---- predict mode ------------------------------------------------------------------------------------
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
      const label = document.createElement("label"), input = document.createElement("input");
      const verdict = document.createElement("span");
      label.textContent = a.label + " = ";
      input.type = "text";
      input.inputMode = "decimal";
      input.id = "dg-ask-" + a.pos;
      verdict.id = "dg-verdict-" + a.pos;
      label.appendChild(input);
      row.append(label, " ", verdict);
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") check(); });
      box.appendChild(row);
    }
    const buttons = document.createElement("div");
    for (const [id, text, fn] of [["dg-check", "Check", check], ["dg-reveal", "Reveal", reveal]]) {
      const b = document.createElement("button");
      b.id = id;
      b.textContent = text;
      b.onclick = fn;
      buttons.append(b, " ");
    }
    box.appendChild(buttons);
  }

  function reveal() { revealed.add(key(items[cur])); render(); }

  // An answer as a number: a decimal (1.5, -2e-3) or a simple fraction (-3/2); a comma as the decimal
  // mark, hex and anything else are refused with what to type instead.
  const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
  const TOO_BIG = "? too big for a number (past 1.8e308): type one like -1.5, 2e-3 or -3/2";
  function parseAnswer(text) {
    const raw = text.trim().replace(/\u2212/g, "-");
    if (raw === "") return { why: "? enter a number" };
    if (/^[+-]?\d+,\d+$/.test(raw)) return { why: "? use a dot for decimals: " + raw.replace(",", ".") };
    const parts = raw.split("/");
    const whole = parts.every((p) => DECIMAL.test(p.trim()));
    // 1e999 is a decimal past the largest float: Infinity, which "not a number" already refuses by name
    if (whole && !parts.every((p) => Number.isFinite(Number(p)))) return { why: TOO_BIG };
    if (parts.length === 2 && whole) {
      const x = Number(parts[0]) / Number(parts[1]);
      if (Number(parts[1]) === 0) return { why: "? the fraction divides by zero" };
      return Number.isFinite(x) ? { x } : { why: TOO_BIG };
    }
    if (parts.length === 1 && whole) return { x: Number(raw) };
    return { why: "? not a number: type one like -1.5, 2e-3 or -3/2" };
  }

  function check() {
    const f = info(items[cur]);
    let all = true;
    for (const a of f.asks) {
      const { x, why } = parseAnswer($("dg-ask-" + a.pos).value);
      const ok = why === undefined && Math.abs(x - a.value) <= D.tolerance * Math.max(1, Math.abs(a.value));
      const verdict = $("dg-verdict-" + a.pos);
      verdict.textContent = ok ? "✓ right" : why !== undefined ? why : "✗ wrong, try again";
      verdict.className = ok ? "right" : "wrong";
      all = all && ok;
    }
    const summary = $("dg-predict-result") || document.createElement("div");
    summary.id = "dg-predict-result";
    summary.className = all ? "right" : "wrong";
    summary.textContent = all ? "Right! Press Next to continue." : "Not all right yet.";
    $("dg-predict").appendChild(summary);
    if (all) {
      revealed.add(key(items[cur]));
      render();
      $("dg-text").after(summary);
    }
  }

  // ---- moving: one step, jumps, levels, open and close in place -------------------------------------------
  function goTo(k) {
    if (D.predict && k > cur) for (let j = cur; j < k; j++) revealed.add(key(items[j]));  // moving on reveals
    cur = Math.max(0, Math.min(items.length - 1, k));
    const old = $("dg-predict-result");
    if (old) old.remove();
    moved();
  }
  // a move that worked: the last refusal's words go (they stayed after o, c or a level change)
  function moved() {
    $("dg-nav-msg").textContent = "";
    render();
    if (hidden(items[cur])) showAsk();
  }
  // A step that asks for answers shows its first answer box: the side panel, scrolled down for a long
  // text before, is scrolled back to the rule asked about (its box at most 35% of the window high, the
  // answers below it), or as far as keeps the first answer box whole. The diagram does not move.
  function showAsk() {
    const side = $("dg-side"), first = $("dg-predict").querySelector("input");
    if (!first) return;
    const panel = side.getBoundingClientRect(), box = first.getBoundingClientRect();
    if (box.top >= panel.top && box.bottom <= panel.bottom) return;
    const hint = $("dg-hint");
    const want = (hint.hidden ? box.top - 24 : hint.getBoundingClientRect().top - 4) - panel.top;
    const least = box.bottom + 8 - panel.bottom, most = box.top - 8 - panel.top;  // the box whole in view
    side.scrollTop += Math.max(least, Math.min(want, most));
  }
  const go = (delta) => goTo(cur + delta);
  const atFrame = (frame) => items.findIndex((it) => it.first <= frame && frame <= it.last);

  // ] and [: to the start of the next layer (the loss's operations count as one), or back to the start
  // of this one (the previous one from its start), in either pass, as the terminal stepper's ] and [
  const layerStarts = D.groups.filter((g) => g.level === "layer").map((g) => g.first).sort((a, b) => a - b);
  function layerJump(dir) {
    const at = items[cur].first;
    const frame = dir > 0 ? layerStarts.find((f) => f > at) : layerStarts.filter((f) => f < at).pop();
    if (frame !== undefined) goTo(atFrame(frame));
    else $("dg-nav-msg").textContent = "no further layer that way";  // as the terminal stepper says
  }

  function openCurrent() {
    const it = items[cur];
    if (it.g === undefined) return;
    opened.add(it.g);
    rebuild(it.first);
    moved();
  }
  function closeCurrent() {
    const frame = items[cur].first;
    let best = null;  // the finest opened group around this step
    for (const k of opened) {
      const g = D.groups[k];
      if (g.first <= frame && frame <= g.last && (best === null || g.level === "neuron")) best = k;
    }
    if (best === null) return;
    opened.delete(best);
    rebuild(frame);
    moved();
  }
  function setLevel(lv) {
    level = lv;
    opened.clear();
    rebuild(items[cur].first);
    moved();
  }
  // Where a node is found, in the pass the learner is in. Forward: the step that computes it (a leaf:
  // the first step that reads it). Backward (from the seed on): the step its gradient is complete at,
  // its own step, where it passes δ on (every use is before it), or for a leaf the last step that adds
  // to it; so the inspector shows the whole sum there (a weight looked up from the pass's end went back
  // to the first step that reached it and showed one term "so far").
  function stepOfNode(i) {
    const has = (it) => nodesOf(it).includes(i), reads = (it) => touchedOf(it).has(i);
    if (items[cur].first < seedFrame) {
      let k = items.findIndex((it) => it.first < seedFrame && has(it));
      if (k < 0) k = items.findIndex((it) => it.first > 0 && it.first < seedFrame && reads(it));
      return k < 0 ? 0 : k;
    }
    if (i === root) return atFrame(seedFrame);
    let k = items.findIndex((it) => it.first > seedFrame && has(it));
    if (k < 0) k = items.findLastIndex((it) => it.first > seedFrame && reads(it));
    return k < 0 ? atFrame(seedFrame) : k;
  }
  // a name as the page shows it: the invisible format characters of a label (bidi controls) written
  // out as autodiff.steps.shown_label writes them, so the label itself, pasted, finds its node too
  function shownName(text) {
    return text.replace(/\p{Cf}/gu, (c) => { const k = c.codePointAt(0);
      return k > 0xffff ? "\\U" + k.toString(16).padStart(8, "0") : "\\u" + k.toString(16).padStart(4, "0"); });
  }
  function findNode(typed) {
    const name = shownName(typed);
    let i = byName.get(name.trim());
    const sharing = D.nodes.flatMap((n, k) => n.shared === name.trim() ? [k] : []);  // a label several nodes have
    if (i === undefined && sharing.length) i = sharing[0];
    if (i === undefined) { $("dg-nav-msg").textContent = "no node is called " + JSON.stringify(name.trim()); return false; }
    inspected = i;
    goTo(stepOfNode(i));
    if (!byName.has(name.trim())) {
      $("dg-nav-msg").textContent = sharing.length + " nodes are labelled " + JSON.stringify(name.trim()) + ": "
        + sharing.map((k) => D.nodes[k].name).join(", ") + "; this is " + D.nodes[i].name;
    }
    return true;
  }

  // ---- the inspector: a node's value and its gradient as the chain-rule sum over its uses --------------
  function mi(text, tag) { const e = document.createElementNS(MATHNS, tag || "mi"); e.textContent = text; return e; }
  function partial(top, bottom) {
    const frac = document.createElementNS(MATHNS, "mfrac");
    for (const name of [top, bottom]) {
      const row = document.createElementNS(MATHNS, "mrow");
      row.append(mi("∂", "mo"), mi(name));
      frac.appendChild(row);
    }
    return frac;
  }

  function inspect(i) {
    inspected = i;
    for (const el of document.querySelectorAll(".dg-inspected")) el.classList.remove("dg-inspected");
    const g = boxOf(i);
    if (g) g.classList.add("dg-inspected");
    const it = items[cur], hide = hidden(it), s = state(it, hide), n = D.nodes[i];
    const box = $("dg-inspector");
    box.hidden = false;
    box.textContent = "";
    const head = document.createElement("div");
    head.id = "dg-inspector-head";
    head.textContent = n.name + " (" + n.op + "): value " + (i in s.values ? fmt(s.values[i]) : "not computed yet");
    box.appendChild(head);
    const last = hide ? it.first - 1 : it.last;
    const uses = (D.uses[i] || []).filter((u) => u[1] <= last);
    // the node, its users and the nodes their local derivatives are made of (∂(w·x)/∂x = w): u[6]
    inspectorNames = [i, ...uses.flatMap((u) => u[6])];
    const out = D.nodes[root].name;
    const terms = document.createElement("div");
    terms.className = "dg-terms";
    terms.id = "dg-inspector-terms";
    if (i === root) terms.textContent = "∂" + out + "/∂" + out + " = 1 (the seed of the backward pass)";
    else if (unseen.has(i)) terms.textContent = "gradient: hidden until you answer the step that asks for it";
    else if (!uses.length) terms.textContent = "gradient: the backward pass has not reached it yet";
    else {
      const math = document.createElementNS(MATHNS, "math");
      math.setAttribute("display", "block");
      math.append(partial(out, n.name), mi("=", "mo"));
      uses.forEach((u, k) => {
        if (k) math.appendChild(mi("+", "mo"));
        math.append(partial(D.nodes[u[0]].name, n.name), mi("·", "mo"), partial(out, D.nodes[u[0]].name));
      });
      math.appendChild(mi("=", "mo"));
      uses.forEach((u, k) => {
        if (k) math.appendChild(mi("+", "mo"));
        math.append(mi(factor(u[3]), "mn"), mi("·", "mo"), mi(factor(u[4]), "mn"));
      });
      const total = uses.reduce((a, u) => a + u[5], 0);
      math.append(mi("=", "mo"), mi(fmt(total), "mn"));
      box.appendChild(math);
      terms.textContent = n.name + ".grad = Σ over " + uses.length + " use" + (uses.length > 1 ? "s" : "") + ": "
        + uses.map((u) => u[2] + " · " + D.nodes[u[0]].name + ".grad").join(" + ") + "\n  = "
        + uses.map((u) => factor(u[3]) + " · " + factor(u[4])).join(" + ") + " = " + fmt(total)
        + (uses.length < (D.uses[i] || []).length ? "  (so far)" : "");
    }
    box.appendChild(terms);
    fitBox(box);
  }

  // ---- zoom and pan -----------------------------------------------------------------------------------
  // The layered drawing zooms, its legend above it does not: shrunk with it, the legend's text was
  // unreadable at "fit" (5%), and its last line, held at Chromium's smallest font size, overflowed the
  // legend's box and was cut. So the zoom scales the drawing, which starts TOP px down the scroll box.
  const zoomed = layeredDiv || canvas;
  const W0 = svg ? svg.width.baseVal.value : zoomed ? zoomed.offsetWidth : 0;
  const H0 = svg ? svg.height.baseVal.value : zoomed ? zoomed.offsetHeight : 0;
  const TOP = layeredDiv ? layeredDiv.offsetTop : legendSvg ? legendSvg.height.baseVal.value : 0;
  function setZoom(z) {
    if (!canvas) return;
    const box = $("dg-diagram");
    // zoom about the focus node when it is in view (else about the middle), then show the step
    const v = box.getBoundingClientRect(), f = items.length ? focusEl(items[cur]) : null;
    const r = f && haloRect(f, new Map());
    const about = r && r.left >= v.left && r.right <= v.left + box.clientWidth && r.top >= v.top &&
      r.bottom <= v.top + box.clientHeight ? [(r.left + r.right) / 2 - v.left, (r.top + r.bottom) / 2 - v.top]
      : [box.clientWidth / 2, box.clientHeight / 2];
    const cx = (box.scrollLeft + about[0]) / (W0 * zoom), cy = (box.scrollTop + about[1] - TOP) / (H0 * zoom);
    zoom = Math.max(0.05, Math.min(8, z));
    if (svg) {
      for (const el of edgeSvg ? [svg, edgeSvg] : [svg]) {
        el.setAttribute("width", W0 * zoom);
        el.setAttribute("height", H0 * zoom);
      }
    } else zoomed.style.zoom = zoom;  // the tiles scale together
    box.scrollLeft = cx * W0 * zoom - about[0];
    box.scrollTop = TOP + cy * H0 * zoom - about[1];
    $("dg-zoom-level").textContent = Math.round(zoom * 100) + "%";
    if (items.length) showStep(items[cur], f);
    if (settling) settleEdges(f);
  }
  // ---- the view's edges between boxes -----------------------------------------------------------------
  // A box half in the view reads badly: the README loss's L2 box ("all 304 weights") was cut at the
  // pane's right edge as the page opened at 1920×1080. Where the page opens and after each zoom, the
  // view slides (keeping the current step's box whole) to the nearest place where its edges fall
  // between boxes, when there is one; as the page opens on graphviz's drawing it may zoom in up to
  // 100% for it, keeping the drawing's start (its first column, its top) in view. (viz.layered's rows,
  // a box and its line of numbers 2 px apart, leave the view no place between them.) A box bigger than the view
  // is not counted (it is cut wherever the view is).
  let settling = false, drawn = null;
  function boxRects() {  // every box of the drawing in its units (zoom 1): [left, top, right, bottom]
    if (drawn) return drawn;
    const box = $("dg-diagram"), v = box.getBoundingClientRect(), ctm = new Map();
    const x0 = v.left + box.clientLeft - box.scrollLeft, y0 = v.top + box.clientTop - box.scrollTop;
    drawn = [];
    for (const g of canvas.querySelectorAll(".node")) {
      if (g.closest(".dg-legend")) continue;
      let r;
      if (tileOf.has(g.parentNode) || g.querySelector(":scope > .dg-halo")) {
        r = haloRect(g, ctm);
        const name = g.querySelector(":scope > .dg-name");
        if (name) r.top -= 16 * zoom;  // its name above the box
      } else {
        const shape = g.querySelector(":scope > polygon, :scope > path, :scope > ellipse");
        if (!shape) continue;
        r = shape.getBoundingClientRect();
      }
      drawn.push([(r.left - x0) / zoom, (r.top - y0 - TOP) / zoom, (r.right - x0) / zoom, (r.bottom - y0 - TOP) / zoom]);
    }
    return drawn;
  }
  // The scroll place in [lo, hi] nearest s0 at which no box (of those across the view the other way,
  // [a, b] along this axis) is cut by the view [s, s + size]; null when there is none.
  function place(spans, s0, size, lo, hi) {
    const cuts = [];
    for (const [a, b] of spans) if (b - a <= size && b > lo && a < hi + size) cuts.push([a, b], [a - size, b - size]);
    const inside = (s) => cuts.some(([a, b]) => a + 0.5 < s && s < b - 0.5);
    let best = null;
    for (const c of [s0, ...cuts.flat()]) {
      const s = Math.max(lo, Math.min(hi, c));
      if ((best === null || Math.abs(s - s0) < Math.abs(best - s0)) && !inside(s)) best = s;
    }
    return best;
  }
  // The view at zoom z and scroll (sx, sy), slid to put its edges between boxes: [sx, sy, boxes cut].
  function between(z, sx, sy, keep) {
    const box = $("dg-diagram"), band = layeredDiv ? TOP : 0;
    const W = box.clientWidth, H = box.clientHeight - band, M = 4;
    const X = boxRects().map(([l, t, r, b]) => [l * z - 2, TOP + t * z - 2, r * z + 2, TOP + b * z + 2]);
    const maxX = Math.max(0, W0 * z - W), maxY = Math.max(0, TOP + H0 * z + 28 - box.clientHeight);
    const range = (size, maxS, a, b) => [Math.max(0, b === null ? -Infinity : b + M - size),
                                         Math.min(maxS, a === null ? Infinity : a - M)];
    // keep: what stays whole in view, per axis ([lo, hi], or null: the view does not move along it)
    let [xlo, xhi] = !keep ? [0, maxX] : keep[0] ? range(W, maxX, keep[0][0], keep[0][1]) : [sx, sx];
    let [ylo, yhi] = !keep ? [0, maxY] : keep[1] ? range(H, maxY, keep[1][0] - band, keep[1][1] - band) : [sy, sy];
    if (xlo > xhi) [xlo, xhi] = [sx, sx];  // (the view keeps no room to slide in)
    if (ylo > yhi) [ylo, yhi] = [sy, sy];
    const cuts = (x, y) => X.filter(([l, t, r, b]) => r > x && l < x + W && b > y + band && t < y + band + H &&
      r - l <= W && b - t <= H && (l < x || r > x + W || t < y + band || b > y + band + H)).length;
    if (X.length <= 400) {  // graphviz's drawing: every pair of places where an edge meets a box's side
      const at = (lo, hi, s0, spans, size) => [...new Set([s0, ...spans.flatMap(([a, b]) => [a, b, a - size, b - size])]
        .map((s) => Math.max(lo, Math.min(hi, s))))];
      const xs = at(xlo, Math.max(xlo, xhi), sx, X.map((r) => [r[0], r[2]]), W);
      const ys = at(ylo, Math.max(ylo, yhi), sy, X.map((r) => [r[1] - band, r[3] - band]), H);
      let best = null;
      for (const x of xs) {
        for (const y of ys) {
          const d = Math.abs(x - sx) / W + Math.abs(y - sy) / H;
          if ((best === null || d < best[2]) && !cuts(x, y)) best = [x, y, d];
        }
      }
      if (best) [sx, sy] = best;
    } else {  // the layered drawing's thousands of boxes: each axis in turn
      for (let k = 0; k < 3; k++) {
        const xs = X.filter((r) => r[3] > sy + band && r[1] < sy + band + H).map((r) => [r[0], r[2]]);
        sx = place(xs, sx, W, xlo, Math.max(xlo, xhi)) ?? sx;
        const ys = X.filter((r) => r[2] > sx && r[0] < sx + W).map((r) => [r[1] - band, r[3] - band]);
        sy = place(ys, sy, H, ylo, Math.max(ylo, yhi)) ?? sy;
      }
    }
    return [sx, sy, cuts(sx, sy)];
  }
  function settleEdges(f) {
    if (!canvas || !W0) return;
    const box = $("dg-diagram"), v = box.getBoundingClientRect(), band = layeredDiv ? TOP : 0;
    // The step as the zoom showed it (scrollTo) stays so: its current boxes and their context (the
    // neuron's cluster, an opened panel), with the boxes it updates that are in view, along an axis
    // where they fit the view; along one where they do not, the view stays at their start.
    let keep = null;
    if (f) {
      const ctm = new Map(), it = items[cur], x0 = v.left + box.clientLeft - box.scrollLeft;
      const y0 = v.top + box.clientTop - box.scrollTop, W = box.clientWidth, H = box.clientHeight - band;
      const rect = (el) => haloRect(el, ctm);
      let u = [...new Set(nodesOf(it).map(boxOf))].filter(Boolean).map(rect).reduce(union, rect(f));
      u = stepRects(it, f, ctm).reduce(union, u);
      const seen = (r) => r.left >= v.left && r.right <= v.left + W && r.top >= v.top + band && r.bottom <= v.top + band + H;
      for (const el of new Set([...touchedOf(it)].map(boxOf))) {
        const r = el && rect(el);
        if (r && seen(r)) u = union(u, r);
      }
      keep = [u.right - u.left <= W - 8 ? [u.left - x0, u.right - x0] : null,
              u.bottom - u.top <= H - 8 ? [u.top - y0, u.bottom - y0] : null];
    }
    const [sx, sy] = between(zoom, box.scrollLeft, box.scrollTop, keep);
    box.scrollLeft = sx;
    box.scrollTop = sy;
    pinTitles();
    showTiles();
  }
  // As the page opens on graphviz's drawing: the least zoom from the opening one up to 100% (text only
  // gets bigger) at which
  // the view, slid as little as it may while showing the drawing's first column and its top, cuts no box.
  function openView() {
    const box = $("dg-diagram"), z0 = zoom;
    const first = Math.min(...boxRects().map((r) => r[0]));  // the drawing's first column
    let best = null;
    for (let z = z0; z <= Math.max(z0, 1) + 1e-9; z += 0.01) {
      const [sx, sy, cut] = between(z, 0, 0, [[first * z, first * z], [TOP, TOP]]);
      const cost = cut * 10 + sx / box.clientWidth + sy / box.clientHeight + (z - z0);
      if (best === null || cost < best[0]) best = [cost, z, sx, sy];
      if (!cut && !sx && !sy) break;
    }
    if (!best || best[1] === z0 && !best[2] && !best[3]) return;
    setZoom(best[1]);
    box.scrollLeft = best[2];
    box.scrollTop = best[3];
    pinTitles();
    showTiles();
  }

  function fit() {
    const box = $("dg-diagram");
    setZoom(Math.min(box.clientWidth / W0, (box.clientHeight - TOP) / H0));
  }
  const diagram = $("dg-diagram");
  diagram.addEventListener("scroll", () => { pinTitles(); showTiles(); }, { passive: true });
  // and whenever the view changes otherwise: a bigger window (or notebook cell, or full screen) shows
  // more of the drawing with no scroll (its new tiles stayed out); a smooth scroll by the browser
  // (PageDown, Space) ends with a scrollend its last scroll events may not have reached
  diagram.addEventListener("scrollend", () => { pinTitles(); showTiles(); }, { passive: true });
  new ResizeObserver(() => { pinTitles(); showTiles(); }).observe(diagram);
  let drag = null, dragged = false;
  diagram.addEventListener("mousedown", (e) => {
    drag = { x: e.clientX, y: e.clientY, left: diagram.scrollLeft, top: diagram.scrollTop };
    dragged = false;
  });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) { dragged = true; diagram.classList.add("dg-dragging"); }
    diagram.scrollLeft = drag.left - dx;
    diagram.scrollTop = drag.top - dy;
  });
  window.addEventListener("mouseup", () => { drag = null; diagram.classList.remove("dg-dragging"); });
  diagram.addEventListener("wheel", (e) => {
    if (!e.ctrlKey) return;
    e.preventDefault();
    setZoom(zoom * (e.deltaY < 0 ? 1.15 : 1 / 1.15));
  }, { passive: false });
  diagram.addEventListener("click", (e) => {
    if (dragged) return;
    const g = e.target.closest && e.target.closest("g[id], .node[id]");
    if (!g) return;
    const i = g.id.startsWith("dg-open-") && g.classList.contains("dg-open-op") ? +g.id.slice(8)
      : D.nodes.findIndex((n) => n.id === g.id && n.own);
    if (i < 0) return;
    inspect(i);
    showInside(stepNames[0], [...stepNames[1], ...inspectorNames]);
  });

  // ---- controls and keys ---------------------------------------------------------------------------
  $("dg-prev").onclick = () => go(-1);
  $("dg-next").onclick = () => go(1);
  $("dg-start").onclick = () => goTo(0);
  $("dg-backward").onclick = () => goTo(atFrame(seedFrame));
  $("dg-open").onclick = openCurrent;
  $("dg-close").onclick = closeCurrent;
  $("dg-level").onchange = (e) => setLevel(e.target.value);
  $("dg-zoom-in").onclick = () => setZoom(zoom * 1.25);
  $("dg-zoom-out").onclick = () => setZoom(zoom / 1.25);
  $("dg-zoom-reset").onclick = () => setZoom(1);
  $("dg-zoom-fit").onclick = fit;
  $("dg-goto").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const text = e.target.value.trim(), k = Number(text);
    if (!/^[+-]?\d+$/.test(text)) {
      $("dg-nav-msg").textContent = "give a step number from 1 to " + items.length;
      return;
    }
    // a number past either end goes to that end and says so, as the terminal stepper does
    goTo(Math.min(Math.max(k, 1), items.length) - 1);
    if (k < 1 || k > items.length) $("dg-nav-msg").textContent = "there are steps 1 to " + items.length;
    e.target.value = "";  // the counter says where the page is; an old number here would contradict it
    e.target.blur();  // back to the page, so the arrow keys, o and c step again
  });
  $("dg-find").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && findNode(e.target.value)) e.target.blur();
  });
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement) return;  // typing an answer
    const pan = { ArrowLeft: [-100, 0], ArrowRight: [100, 0], ArrowUp: [0, -100], ArrowDown: [0, 100] }[e.key];
    if (e.shiftKey && pan) { diagram.scrollLeft += pan[0]; diagram.scrollTop += pan[1]; e.preventDefault(); return; }
    const act = { ArrowRight: () => go(1), ArrowLeft: () => go(-1), Home: () => goTo(0),
                  End: () => goTo(items.length - 1), b: () => goTo(atFrame(seedFrame)), o: openCurrent,
                  "]": () => layerJump(1), "[": () => layerJump(-1),
                  c: closeCurrent, "+": () => setZoom(zoom * 1.25), "=": () => setZoom(zoom * 1.25),
                  "-": () => setZoom(zoom / 1.25), "0": () => setZoom(1), f: fit }[e.key];
    if (act && !e.ctrlKey && !e.metaKey && !e.altKey) { act(); e.preventDefault(); }
  });

  // every box's halo read as the page opens, not in the first step that reaches it (the loss's 612: 9 ms)
  for (const g of boxEl.values()) if (g) geomOf(g);
  rebuild(0);
  // Start at the natural size, or smaller to show a graphviz diagram whole, but never below 75%: there
  // its smallest text (11 units, in points) is still 11 px on screen.
  const box0 = $("dg-diagram");
  setZoom(svg && W0 && H0 ? Math.min(1, Math.max(0.75, Math.min(box0.clientWidth / W0, (box0.clientHeight - TOP) / H0))) : 1);
  render();
  settling = true;
  if (svg && (!items.length || !nodesOf(items[cur]).length)) openView();  // (a page opening on a step keeps its view)
})();
