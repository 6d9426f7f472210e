#!/usr/bin/env node
// A stand-in fine-tune hook for the dg iterate test (not a trainer): it checks the exported answerer
// set, then "trains" by registering the simulator under a new name with a lower error rate
// (sim-vlm@err=X -> sim-vlm@err=X-0.15), printing the new model as its last JSON line.
// Usage: iterate-hook.js <parent_model> <out> <endpoint> <dataset>
// With HOOK_PAUSE_FILE set and absent, the call for iteration 2 writes its pid there and sleeps, so
// the test can kill dg iterate in the middle of a step.
const fs = require('node:fs');
const [parent, out, endpoint, dataset] = process.argv.slice(2);
const lines = fs.readFileSync(dataset, 'utf8').split('\n').filter(Boolean);
for (const line of lines) {
  const example = JSON.parse(line);
  if (!Array.isArray(example.messages) || example.messages[0].role !== 'system') throw new Error(`bad example in ${dataset}`);
}
console.error(`training on ${lines.length} examples from ${dataset}`);
const err = Number((/@err=([0-9.]+)/.exec(parent) || [])[1] || 0);
const next = Math.max(0, Math.round((err - 0.15) * 100) / 100);
const pause = process.env.HOOK_PAUSE_FILE;
if (pause && !fs.existsSync(pause) && Math.abs(err - 0.3) < 1e-9) {
  fs.writeFileSync(pause, String(process.pid));
  setTimeout(() => process.exit(1), 60_000);
  return;
}
fs.mkdirSync(out, { recursive: true });
console.log('epoch 1 loss 0.42');
console.log(JSON.stringify({ name: `sim-vlm@err=${next}`, endpoint, path: out, metrics: { examples: lines.length } }));
