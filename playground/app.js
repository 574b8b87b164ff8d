// The playground page: the editor, the examples, the link in the URL fragment, and the stepper page the
// Web Worker returns (shown in a sandboxed iframe). Python never runs on this thread.
const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL("worker.js", import.meta.url), { type: "module" });
const timings = { ready: null, firstResult: null, runs: [] };
window.playground = { timings };  // read by the tests and the benchmark
let examples = {}, pending = new Map(), nextId = 0, ready = false;

// The program travels in the fragment as #python=... or #expression=..., base64url of its UTF-8 text.
function encode(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function decode(data) {
  const bin = atob(data.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}
function link() {
  const url = new URL(location.href);
  url.hash = $("pg-mode").value + "=" + encode($("pg-code").value) + ($("pg-predict").checked ? "&predict" : "");
  return url.href;
}
function fromFragment() {
  const m = /^#(python|expression)=([A-Za-z0-9_-]*)(&predict)?$/.exec(location.hash);
  if (!m) {
    if (location.hash.length > 1) show("This link's program could not be read (it should look like " +
                                       "#python=... or #expression=...); showing an example instead.");
    return false;
  }
  try {
    $("pg-code").value = decode(m[2]);
  } catch {
    show("This link's program is not valid base64url of UTF-8 text; showing an example instead.");
    return false;
  }
  $("pg-mode").value = m[1];
  $("pg-predict").checked = Boolean(m[3]);
  $("pg-example").value = "";
  return true;
}

function show(message, kind = "error") {
  $("pg-message").hidden = !message;
  $("pg-message").textContent = message || "";
  $("pg-message").className = kind === "numpy" ? "pg-numpy" : "";
}

function request(body) {
  const id = nextId++;
  worker.postMessage({ id, request: body });
  return new Promise((resolve) => pending.set(id, resolve));
}

async function run() {
  if (!ready) return;
  $("pg-run").disabled = true;
  history.replaceState(null, "", link());
  $("pg-timing").textContent = "running…";
  const started = performance.now();
  const { result, ms } = await request({ source: $("pg-code").value, mode: $("pg-mode").value,
                                         predict: $("pg-predict").checked });
  const total = performance.now() - started;
  $("pg-run").disabled = false;
  if (!result.ok) {
    show(result.error, result.kind);
    $("pg-timing").textContent = "";
    $("pg-stepper").srcdoc = "";  // the last program's stepper would pass for this one's
    return;
  }
  show("");
  const frame = $("pg-stepper");
  await new Promise((resolve) => { frame.onload = resolve; frame.srcdoc = result.html; });
  timings.runs.push({ python_ms: ms, total_ms: performance.now() - started });
  if (timings.firstResult === null) timings.firstResult = performance.now();
  $("pg-timing").textContent = `${result.nodes.length} nodes, ${result.frames} steps: ran in ` +
    `${Math.round(ms)} ms (${Math.round(total)} ms with the page)`;
  document.body.dataset.runs = String(timings.runs.length);
}

worker.onmessage = (event) => {
  const m = event.data;
  if (m.type === "ready") {
    ready = true;
    timings.ready = performance.now();
    timings.boot = m.boot;
    $("pg-status").textContent = `ready in ${(m.ms / 1000).toFixed(1)} s: Pyodide ${m.versions.pyodide}, ` +
      `Graphviz (@viz-js/viz ${m.versions["@viz-js/viz"]})`;
    $("pg-run").disabled = false;
    loaded.then(run);
  } else if (m.type === "failed") {
    $("pg-status").textContent = "could not start Python: " + m.error + " (was `make playground` run?)";
    $("pg-status").className = "pg-failed";
  } else if (m.type === "result") {
    pending.get(m.id)(m);
    pending.delete(m.id);
  }
};
worker.onerror = (e) => {
  $("pg-status").textContent = "the worker failed: " + (e.message || "see the console") +
    " (was `make playground` run? serve the folder with `deltagrad playground`, not file://)";
  $("pg-status").className = "pg-failed";
};

async function start() {
  examples = await (await fetch("vendor/examples.json")).json();
  for (const [name, ex] of Object.entries(examples)) {
    $("pg-example").add(new Option(ex.title, name));
  }
  $("pg-example").add(new Option("(your program)", ""));
  const load = (name) => {
    const ex = examples[name];
    if (!ex) return;
    $("pg-code").value = ex.source;
    $("pg-mode").value = ex.mode;
  };
  if (!fromFragment()) load($("pg-example").value = "neuron");
  $("pg-example").onchange = () => { load($("pg-example").value); run(); };
  $("pg-code").oninput = () => { $("pg-example").value = ""; };
  $("pg-run").onclick = run;
  $("pg-share").onclick = async () => {
    const url = link();
    history.replaceState(null, "", url);
    try { await navigator.clipboard.writeText(url); $("pg-timing").textContent = "link copied"; }
    catch { $("pg-timing").textContent = "the link is in the address bar"; }
  };
  $("pg-code").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
    if (e.key === "Tab") {  // indent instead of leaving the editor
      e.preventDefault();
      $("pg-code").setRangeText("    ", $("pg-code").selectionStart, $("pg-code").selectionEnd, "end");
    }
  });
  window.addEventListener("hashchange", () => { if (fromFragment()) run(); });
}
const loaded = start();
