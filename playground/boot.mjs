// The playground's engine room, shared by the page's Web Worker and the Node runner (tests): load Pyodide,
// unpack the project's wheel and its pure-Python dependencies, import runner.py, and start Graphviz in
// WebAssembly. `base` is the URL of the playground folder; everything comes from vendor/ under it.
import { loadPyodide } from "./vendor/pyodide/pyodide.mjs";
import { instance as graphviz } from "./vendor/viz/viz.js";

// `read(url)` gives a file's bytes (fetch in the browser, the file system in Node); `indexURL` is where
// Pyodide finds its own files (a URL in the browser, a path in Node).
export async function boot(base, read = async (url) => (await fetch(url)).arrayBuffer(),
                           indexURL = new URL("vendor/pyodide/", base).href) {
  const text = async (path) => new TextDecoder().decode(await read(new URL(path, base)));
  const t0 = performance.now(), timings = {};  // where a cold start spends its time (ms)
  const wheels = text("vendor/manifest.json").then(JSON.parse).then(async (manifest) =>
    [manifest, await Promise.all(manifest.wheels.map((w) => read(new URL("vendor/wheels/" + w, base))))]);
  const [pyodide, viz, [manifest, wheelBytes]] = await Promise.all([
    loadPyodide({ indexURL }).then((py) => { timings.pyodide = performance.now() - t0; return py; }),
    graphviz().then((v) => { timings.graphviz = performance.now() - t0; return v; }),
    wheels,
  ]);
  for (const bytes of wheelBytes) pyodide.unpackArchive(bytes, "wheel");
  pyodide.FS.mkdirTree("/playground");
  pyodide.FS.writeFile("/playground/playground_runner.py", await text("runner.py"));
  pyodide.runPython("import sys; sys.path.insert(0, '/playground')");
  const t1 = performance.now();
  const runner = pyodide.pyimport("playground_runner");
  timings.import = performance.now() - t1;
  const renderSvg = (dot) => viz.renderString(dot, { format: "svg", engine: "dot" });
  // One program: {source, mode, predict} -> the runner's result ({ok, html, nodes, ...} or {ok: false, error}).
  function run(request) {
    try {
      return JSON.parse(runner.run_json(JSON.stringify(request), renderSvg));
    } catch (e) {  // a failure of the playground itself, not of the learner's program
      return { ok: false, kind: "internal", error: String(e && e.message || e) };
    }
  }
  return { run, pyodide, manifest, timings };
}
