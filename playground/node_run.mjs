// Pyodide under Node (no browser), for the tests and for `make playground`:
//   node playground/node_run.mjs < requests.json > results.json
//     requests: [{source, mode}], results: [{ok, value, nodes: [[name, data, grad]], ...}] without the pages
//   node playground/node_run.mjs --snapshot
//     start Python cold, import the runner, run the classic neuron once (its lazy imports), and write
//     the memory snapshot the page starts from to vendor/snapshot.bin.gz (build.py runs it)
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { boot } from "./boot.mjs";

const here = new URL("./", import.meta.url);
const makeSnapshot = process.argv[2] === "--snapshot";
const open = async (url) => {
  try {
    return new Response(await readFile(url));
  } catch (e) {
    if (e.code === "ENOENT") return new Response(null, { status: 404 });
    throw e;
  }
};
const started = performance.now();
const engine = await boot(here.href, open, fileURLToPath(new URL("vendor/pyodide/", here)), { makeSnapshot });
const bootMs = performance.now() - started;

if (makeSnapshot) {
  const examples = JSON.parse(await readFile(new URL("vendor/examples.json", here), "utf8"));
  const warm = engine.run({ source: examples.neuron.source, mode: "python" });
  if (!warm.ok) throw new Error("the classic neuron failed while making the snapshot: " + warm.error);
  const snapshot = engine.pyodide.makeMemorySnapshot();
  await writeFile(new URL("vendor/snapshot.bin.gz", here), gzipSync(snapshot, { level: 9 }));
  process.stdout.write(JSON.stringify({ boot_ms: bootMs, bytes: snapshot.length, start_bytes: engine.startBytes }));
} else {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const results = JSON.parse(Buffer.concat(chunks).toString("utf8")).map((request) => {
    const result = engine.run(request);
    if (result.html !== undefined) result.html_length = result.html.length;
    delete result.html;
    return result;
  });
  process.stdout.write(JSON.stringify({ boot_ms: bootMs, timings: engine.timings, results }));
}
