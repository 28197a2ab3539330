import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startLocalApiServer } from '../../local/api-gateway-server';

describe("npm start's HTTP server on stop", () => {
  it('waits for a handler still running after its client hung up, so its archive writes land before the store closes', async () => {
    // Prepare: a handler that takes 800 ms, and a client that gives up after 100 ms
    let handlerDone = false;
    const server = await startLocalApiServer({
      port: 0,
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 800));
        handlerDone = true;
        return { statusCode: 200, body: '[]' };
      },
    });
    const asked = request(`${server.url}/reports/0242078689-00001/devices/990000473475989`);
    asked.on('error', () => undefined);
    asked.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    asked.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Act
    await server.close();

    // Assess
    expect(handlerDone).toBe(true);
  });
});
