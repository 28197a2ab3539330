// Preloaded (`node --import`) into a server the benchmark starts: wall-clock marks of each request's
// stages from Node's own HTTP diagnostics channels, so nothing in the service is instrumented. Sequential
// requests only (one in flight). On SIGUSR2, writes one JSON line per answered request to STAGE_TIMER_FILE:
// { start, finish, calls: [{ path, start, answered }] } in ms (performance.now()).
// Plain JS: it runs before any loader.
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';

const file = process.env.STAGE_TIMER_FILE;
const lines = [];
let current;
const calls = new Map();

subscribe('http.server.request.start', () => {
  current = { start: performance.now(), calls: [] };
});
subscribe('http.client.request.start', ({ request }) => {
  if (!current) return;
  const call = { path: request.path, start: performance.now() };
  current.calls.push(call);
  calls.set(request, call);
});
// Published when the answer's head is parsed (the 'response' event).
subscribe('http.client.response.finish', ({ request }) => {
  const call = calls.get(request);
  if (call) call.answered = performance.now();
  calls.delete(request);
});
subscribe('http.server.response.finish', () => {
  if (!current) return;
  lines.push(JSON.stringify({ ...current, finish: performance.now() }));
  current = undefined;
});
// A signal, not exit: a process stopped by SIGTERM without a handler of its own runs no exit hook.
process.on('SIGUSR2', () => {
  if (file) writeFileSync(file, lines.join('\n'));
});
