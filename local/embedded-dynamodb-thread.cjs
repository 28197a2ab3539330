// The embedded store on a worker thread (local/embedded-dynamodb.ts, `thread: true`). Plain CommonJS so
// that it runs as it is from the sources and beside launch.mjs's bundle alike.
const { mkdirSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const dynalite = require('dynalite');

/** Keep-alive sockets a client forgot to release must not keep close() waiting forever. */
const IDLE_SOCKET_GRACE_MS = 1_000;

const { dataDir, port, host } = workerData;
if (dataDir) mkdirSync(dataDir, { recursive: true });
const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
const refused = (error) => parentPort.postMessage({ error: error.message, code: error.code });
server.once('error', refused);
server.listen(port, host, () => {
  // Past start-up, an error of the server's is the thread's: it reaches the main thread as its 'error'.
  server.off('error', refused);
  parentPort.postMessage({ port: server.address().port });
});
parentPort.once('message', () => {
  server.close((error) => {
    parentPort.postMessage({ closed: true, error: error?.message });
    parentPort.close();
  });
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), IDLE_SOCKET_GRACE_MS).unref();
});
