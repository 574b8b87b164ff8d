// The playground page: the editor, the examples, the link in the URL fragment, and the stepper page the
// Web Worker returns (shown in a sandboxed iframe). Python never runs on this thread.
const $ = (id) => document.getElementById(id);
const timings = { ready: null, firstResult: null, runs: [] };
window.playground = { timings };  // read by the tests and the benchmark
let examples = {}, pending = new Map(), nextId = 0, ready = false, busy = false, worker, afterReady = null;

// A program that never ends, or one that kills Python itself (a graph too deep for WebAssembly's stack),
// cannot be stopped from inside: the worker is ended and a fresh one starts from the snapshot (~1-2 s).
function startWorker() {
  worker = new Worker(new URL("worker.js", import.meta.url), { type: "module" });
  worker.onmessage = onMessage;
  worker.onerror = onError;
}
function restart(why) {
  worker.terminate();
  ready = false;
  $("pg-run").disabled = true;
  $("pg-status").textContent = "restarting Python…";
  for (const resolve of pending.values()) resolve({ result: { ok: false, kind: "restarted", error: why } });
  pending.clear();
  startWorker();
}
const DEEP = "Something this deep overflows the browser's stack when Python frees or walks it: a list " +
  "nested thousands deep, say. Chains of Values of any length are fine; see docs/playground.md, \"Limits\".";

// The program travels in the fragment as #python=... or #expression=..., base64url of its UTF-8 text.
function encode(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function decode(data) {  // padding ("=", as standard base64url may have it) is accepted, not needed
  const bin = atob(data.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}
function link() {
  const url = new URL(location.href);
  url.hash = $("pg-mode").value + "=" + encode($("pg-code").value) + ($("pg-predict").checked ? "&predict" : "");
  return url.href;
}
function fromFragment() {
  const m = /^#(python|expression)=([A-Za-z0-9_-]*={0,2})(&predict)?$/.exec(location.hash);
  if (!m) {
    if (location.hash.length > 1) linkProblem("This link's program could not be read (it should look " +
                                              "like #python=... or #expression=...)");
    return false;
  }
  try {
    $("pg-code").value = decode(m[2]);
  } catch {
    linkProblem("This link's program is not valid base64url of UTF-8 text");
    return false;
  }
  $("pg-mode").value = m[1];
  $("pg-predict").checked = Boolean(m[3]);
  $("pg-example").value = "";
  return true;
}

// Said until the example shown instead has run (its success would otherwise clear the message at once).
let linkNote = "";
function linkProblem(what) {
  linkNote = what + "; showing an example instead. See docs/playground.md, \"Sharing a program\".";
  show(linkNote);
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
  if (busy) {  // another program is still running (a link's endless loop, say): stop it, run this one
    afterReady = run;
    restart("stopped: another program was started");
    return;
  }
  if (!ready) { afterReady = run; return; }
  busy = true;
  $("pg-run").disabled = true;
  $("pg-stop").disabled = false;
  history.replaceState(null, "", link());
  $("pg-timing").textContent = "running…";
  const started = performance.now();
  const { result, ms } = await request({ source: $("pg-code").value, mode: $("pg-mode").value,
                                         predict: $("pg-predict").checked });
  const total = performance.now() - started;
  busy = false;
  $("pg-stop").disabled = true;
  $("pg-run").disabled = !ready;
  $("pg-output").hidden = !result.output;
  $("pg-output").textContent = result.output || "";
  if (result.kind === "internal") {  // Python itself failed (the program is not to blame): start afresh
    restart("");
    const deep = /call stack|recursion/i.test(result.error || "");  // the one cause the page can name
    result.error = `Python failed and was restarted (${result.error}).` + (deep ? ` ${DEEP}` : "");
  }
  if (!result.ok) {
    linkNote = "";
    show(result.error, result.kind);
    $("pg-timing").textContent = "";
    $("pg-stepper").srcdoc = "";  // the last program's stepper would pass for this one's
    return;
  }
  show(linkNote);
  linkNote = "";
  const frame = $("pg-stepper");
  await new Promise((resolve) => { frame.onload = resolve; frame.srcdoc = result.html; });
  timings.runs.push({ python_ms: ms, total_ms: performance.now() - started });
  if (timings.firstResult === null) timings.firstResult = performance.now();
  $("pg-timing").textContent = `${result.nodes.length} nodes, ${result.frames} steps: ran in ` +
    `${Math.round(ms)} ms (${Math.round(total)} ms with the page)`;
  document.body.dataset.runs = String(timings.runs.length);
}

function onMessage(event) {
  const m = event.data;
  if (m.type === "ready") {
    ready = true;
    timings.ready ??= performance.now();
    timings.boot ??= m.boot;
    $("pg-status").textContent = `ready in ${(m.ms / 1000).toFixed(1)} s: Pyodide ${m.versions.pyodide}, ` +
      `Graphviz (@viz-js/viz ${m.versions["@viz-js/viz"]})`;
    $("pg-run").disabled = false;
    const next = afterReady;
    afterReady = null;
    if (next) loaded.then(next);
  } else if (m.type === "failed") {
    $("pg-status").textContent = "could not start Python: " + m.error + " (was `make playground` run?)";
    $("pg-status").className = "pg-failed";
  } else if (m.type === "result") {
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  }
}
function onError(e) {
  $("pg-status").textContent = "the worker failed: " + (e.message || "see the console") +
    " (was `make playground` run? serve the folder with `deltagrad playground`, not file://)";
  $("pg-status").className = "pg-failed";
}
afterReady = run;  // the first start runs the example, or the link's program
startWorker();

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
  $("pg-stop").onclick = () => {
    if (!busy) return;
    restart("stopped: the program was still running, so Python was ended and started afresh " +
            "(the program is still in the editor)");
  };
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
