#!/usr/bin/env node
// The JavaScript reference for the WhatsApp import benchmark (crates/core/benches/
// whatsapp_import.rs): times the npm package `whatsapp-chat-parser`'s `parseString` over an
// export. Node start-up and reading the file are outside the timed part.
//
// Usage: node scripts/whatsapp-js-parse.mjs NODE_PREFIX FILE [RUNS]
//   NODE_PREFIX: the folder `npm install --prefix` put the package in.
// Prints one JSON line: {"messages": N, "bytes": B, "best_ms": T, "runs_ms": [...]}.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const [prefix, file, runsArg] = process.argv.slice(2);
if (!prefix || !file) {
  console.error("usage: whatsapp-js-parse.mjs NODE_PREFIX FILE [RUNS]");
  process.exit(2);
}
const runs = Number.parseInt(runsArg ?? "1", 10);
const require = createRequire(join(prefix, "package.json"));
const { parseString } = require("whatsapp-chat-parser");

const text = readFileSync(file, "utf8");
const times = [];
let messages = 0;
for (let run = 0; run < runs; run += 1) {
  const started = performance.now();
  const parsed = parseString(text);
  times.push(performance.now() - started);
  messages = parsed.length;
}
console.log(
  JSON.stringify({
    messages,
    bytes: Buffer.byteLength(text, "utf8"),
    best_ms: Math.min(...times),
    runs_ms: times,
  }),
);
