// The Web Worker: Python runs here, so the page stays responsive while Pyodide loads and programs run.
import { boot } from "./boot.mjs";

const started = performance.now();
const ready = boot(new URL("./", import.meta.url).href).then((engine) => {
  postMessage({ type: "ready", ms: performance.now() - started, versions: engine.manifest.versions,
                boot: engine.timings });
  return engine;
}, (e) => {
  postMessage({ type: "failed", error: String(e && e.message || e) });
  throw e;
});

onmessage = async (event) => {
  const { id, request } = event.data;
  const engine = await ready;
  const t = performance.now();
  const result = engine.run(request);
  postMessage({ type: "result", id, result, ms: performance.now() - t });
};
