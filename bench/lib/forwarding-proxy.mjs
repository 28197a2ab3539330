// The floor of the warm-overhead comparison: a process that only forwards each request to ThingSpace
// (the simulator) over a keep-alive connection and relays the answer. Whatever a service in its own
// process does, it pays at least this second hop. Plain JS: no loader adds to what is measured.
// `node forwarding-proxy.mjs <upstream base URL>` prints `listening on <url>`.
import http from 'node:http';

const upstream = new URL(process.argv[2]);
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((request, response) => {
  const forwarded = http.request(
    { host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, agent },
    (answer) => {
      const chunks = [];
      answer.on('data', (chunk) => chunks.push(chunk));
      answer.on('end', () => {
        response.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? '' });
        response.end(Buffer.concat(chunks));
      });
    },
  );
  for (const [name, value] of Object.entries(request.headers)) if (name !== 'host') forwarded.setHeader(name, value);
  forwarded.on('error', () => response.writeHead(502).end());
  forwarded.end();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
