// Run programs through the wheel in Pyodide under Node (no browser), for the tests:
//   node playground/node_run.mjs < requests.json > results.json
// requests: [{source, mode}], results: [{ok, value, nodes: [[name, data, grad]], ...}] without the pages.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { boot } from "./boot.mjs";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const requests = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const base = new URL("./", import.meta.url).href;
const started = performance.now();
const engine = await boot(base, async (url) => {
  const bytes = await readFile(url);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}, fileURLToPath(new URL("vendor/pyodide/", base)) + "/");
const bootMs = performance.now() - started;
const results = requests.map((request) => {
  const result = engine.run(request);
  if (result.html !== undefined) result.html_length = result.html.length;
  delete result.html;
  return result;
});
process.stdout.write(JSON.stringify({ boot_ms: bootMs, results }));
