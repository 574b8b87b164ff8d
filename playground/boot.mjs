// The playground's engine room, shared by the page's Web Worker and the Node runner (tests, snapshot):
// start Pyodide from the memory snapshot `make playground` took (Python started, the runner imported),
// put the wheels' files and vendor/runner.py (the runner the snapshot holds) back into its file system,
// and start Graphviz in WebAssembly.

// A cold start of Python 3.14 in Pyodide runs its whole interpreter start-up and ~200 imports, 4 s of CPU
// here; restoring the snapshot of the heap after it takes a fraction of that (docs/playground.md, "Speed").
export const SNAPSHOT = "vendor/snapshot.bin.gz";

async function gunzip(response) {
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;  // a server that sent it Content-Encoding: gzip
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// `open(url)` gives a file as a Response (fetch in the browser, a file read in Node); `indexURL` is where
// Pyodide finds its own files (a URL in the browser, a path in Node). `makeSnapshot` starts Python cold
// instead, ready for `pyodide.makeMemorySnapshot()` (node_run.mjs --snapshot).
export async function boot(base, open = (url) => fetch(url), indexURL = new URL("vendor/pyodide/", base).href,
                           { makeSnapshot = false } = {}) {
  const get = async (path) => {
    const response = await open(new URL(path, base));
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status} (was \`make playground\` run?)`);
    return response;
  };
  const t0 = performance.now(), timings = {};  // where a start spends its time (ms since boot was called)
  const since = (name) => (value) => { timings[name] = performance.now() - t0; return value; };
  // Everything is asked for at once, the downloads before the two big modules are compiled.
  const snapshot = makeSnapshot ? undefined : get(SNAPSHOT).then(gunzip).then(since("snapshot"));
  const runnerSource = get("vendor/runner.py").then((r) => r.text());
  const files = get("vendor/manifest.json").then((r) => r.json()).then(async (manifest) => [manifest,
    await Promise.all(manifest.wheels.map((w) => get("vendor/wheels/" + w).then((r) => r.arrayBuffer())))]);
  const pyodideModule = import("./vendor/pyodide/pyodide.mjs");
  const asmModule = import("./vendor/pyodide/pyodide.asm.mjs");
  // Pyodide 314's restoreSnapshot copies the saved heap into the new one without growing it: it asks for
  // INITIAL_MEMORY = the snapshot's size, which this build ignores (its memory is its own, ~30 MB at
  // start). A heap that grew past that before the snapshot (a bigger wheel read while warming up) then
  // fails with "RangeError: offset is out of bounds"; growing the memory to the snapshot's size first,
  // between the module's start and the restore, fits a snapshot of any size.
  let startBytes;  // the heap's size when the module started, before any growth (node_run.mjs reports it)
  const createPyodideModule = async (settings) => {
    const module = await (await asmModule).default(settings);
    startBytes = module.HEAP8.length;
    if (settings.INITIAL_MEMORY > module.HEAP8.length) module.growMemory(settings.INITIAL_MEMORY);
    return module;
  };
  const [pyodide, viz, [manifest, wheels]] = await Promise.all([
    pyodideModule.then(({ loadPyodide }) =>
      loadPyodide({ indexURL, createPyodideModule, _loadSnapshot: snapshot, _makeSnapshot: makeSnapshot }))
      .then(since("pyodide")),
    // Graphviz's start (~0.1 s on this thread) comes after loadPyodide has asked for its files, and its
    // first drawing compiles the layout code while those download.
    Promise.all([import("./vendor/viz/viz.js"), pyodideModule]).then(([{ instance }]) => instance())
      .then((viz) => { viz.renderString("digraph { a -> b }"); return viz; }).then(since("graphviz")),
    files,
  ]);
  // The wheels are imported from as zip files on sys.path (zipimport), so that a start from the snapshot,
  // which holds Python's memory but not its files, only writes them back (tracebacks and lazy imports
  // read them); unpacking them through Python took longer than the rest of the start.
  pyodide.FS.mkdirTree("/playground");
  manifest.wheels.forEach((name, i) => pyodide.FS.writeFile("/playground/" + name, new Uint8Array(wheels[i])));
  pyodide.FS.writeFile("/playground/playground_runner.py", await runnerSource);
  if (makeSnapshot) {
    const paths = JSON.stringify(["/playground", ...manifest.wheels.map((name) => "/playground/" + name)]);
    pyodide.runPython(`import sys; sys.path[:0] = ${paths}`);  // a JSON list of strings is a Python list
  } else {
    pyodide.runPython("import random; random.seed()");  // else every page would draw the same numbers
  }
  const runner = pyodide.pyimport("playground_runner");
  const renderSvg = (dot) => viz.renderString(dot, { format: "svg", engine: "dot" });
  // One program: {source, mode, predict} -> the runner's result ({ok, html, nodes, ...} or {ok: false, error}).
  function run(request) {
    try {
      return JSON.parse(runner.run_json(JSON.stringify(request), renderSvg));
    } catch (e) {  // a failure of the playground itself, not of the learner's program
      return { ok: false, kind: "internal", error: String(e && e.message || e) };
    }
  }
  timings.total = performance.now() - t0;
  return { run, pyodide, manifest, timings, startBytes };
}
