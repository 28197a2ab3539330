import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpExchange } from '../../adapters/thingspace/http-exchange';

type Route = (request: IncomingMessage, response: ServerResponse, body: string) => void;

const routes = new Map<string, Route>();
const connections = new Set<string>();
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    connections.add(`${request.socket.remotePort}`);
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => routes.get(request.url ?? '')?.(request, response, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('httpExchange', () => {
  it('sends the method, headers and body, and returns status, Retry-After and the text', async () => {
    // Prepare
    let seen: { method?: string; type?: string; body?: string } = {};
    routes.set('/echo', (request, response, body) => {
      seen = { method: request.method, type: request.headers['content-type'], body };
      response.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"ok":false}');
    });

    // Act
    const result = await httpExchange(
      `${baseUrl}/echo`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":"é"}' },
      2_000,
    );

    // Assess
    expect(result).toEqual({ kind: 'answer', status: 429, retryAfter: '7', text: '{"ok":false}' });
    expect(seen).toEqual({ method: 'POST', type: 'application/json', body: '{"a":"é"}' });
  });

  it('never follows a redirect, so the auth headers stay with ThingSpace', async () => {
    // Prepare
    let followed = false;
    routes.set('/moved', (_request, response) => response.writeHead(302, { location: `${baseUrl}/elsewhere` }).end());
    routes.set('/elsewhere', (_request, response) => {
      followed = true;
      response.end('[]');
    });

    // Act
    const result = await httpExchange(
      `${baseUrl}/moved`,
      { method: 'GET', headers: { authorization: 'Bearer x' } },
      2_000,
    );

    // Assess
    expect(result).toMatchObject({ kind: 'answer', status: 302 });
    expect(followed).toBe(false);
  });

  it('times out a body that stops arriving, not only a missing answer', async () => {
    // Prepare
    routes.set('/stalls', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('[{"id":');
    });

    // Act
    const result = await httpExchange(`${baseUrl}/stalls`, { method: 'GET', headers: {} }, 200);

    // Assess
    expect(result).toEqual({ kind: 'timeout' });
  });

  it('reports a connection cut in the middle of the body as a network failure', async () => {
    // Prepare
    routes.set('/cut', (_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('[{"id":"1"');
      setTimeout(() => response.socket?.destroy(), 10);
    });

    // Act
    const result = await httpExchange(`${baseUrl}/cut`, { method: 'GET', headers: {} }, 2_000);

    // Assess
    expect(result).toEqual({ kind: 'network' });
  });

  it('reports a refused connection as a network failure', async () => {
    const result = await httpExchange('http://127.0.0.1:9/', { method: 'GET', headers: {} }, 2_000);

    expect(result).toEqual({ kind: 'network' });
  });

  it('keeps the connection alive across requests', async () => {
    // Prepare
    routes.set('/ok', (_request, response) => response.end('[]'));
    connections.clear();

    // Act
    for (let request = 0; request < 5; request += 1) {
      expect(await httpExchange(`${baseUrl}/ok`, { method: 'GET', headers: {} }, 2_000)).toMatchObject({ status: 200 });
    }

    // Assess
    expect(connections.size).toBe(1);
  });
});
