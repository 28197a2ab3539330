import { afterEach, describe, expect, it } from 'vitest';
import { startThingSpaceSimulator, type ThingSpaceSimulator } from '../../local/thingspace-simulator';
import { SWITCHES } from '../../local/thingspace-simulator/control-routes';

let simulator: ThingSpaceSimulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

async function start(): Promise<ThingSpaceSimulator> {
  simulator = await startThingSpaceSimulator();
  return simulator;
}

async function call(sim: ThingSpaceSimulator, method: string, path: string, body?: string) {
  const response = await fetch(`${sim.url}${path}`, { method, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the simulator switches over HTTP', () => {
  it('lists every switch at GET /_simulator, with a JSON schema and an example for each body', async () => {
    // Prepare
    const sim = await start();

    // Act
    const listing = await call(sim, 'GET', '/_simulator');
    const withSlash = await call(sim, 'GET', '/_simulator/');

    // Assess
    expect(listing.status).toBe(200);
    expect(withSlash).toEqual(listing);
    const switches = listing.body.switches as Array<{
      method: string;
      path: string;
      body: { type?: string } | null;
      example?: unknown;
    }>;
    expect(switches.map((entry) => `${entry.method} ${entry.path}`)).toEqual(
      SWITCHES.map((entry) => `${entry.method} /_simulator/${entry.name}`),
    );
    expect(switches.find((entry) => entry.path === '/_simulator/fail')).toMatchObject({
      method: 'POST',
      body: { type: 'object', required: ['status'] },
      example: { count: 8, status: 503 },
    });
    for (const entry of switches.filter((candidate) => candidate.body !== null)) expect(entry.example).toBeDefined();
  });

  it('accepts every listed example as it is', async () => {
    // Prepare
    const sim = await start();
    const switches = (await call(sim, 'GET', '/_simulator')).body.switches as Array<{
      method: string;
      path: string;
      example?: unknown;
    }>;

    // Act
    const answers = [];
    for (const entry of switches) {
      answers.push([
        entry.path,
        (
          await call(
            sim,
            entry.method,
            entry.path,
            entry.example === undefined ? undefined : JSON.stringify(entry.example),
          )
        ).status,
      ]);
    }

    // Assess
    expect(answers.filter(([, status]) => status !== 200)).toEqual([]);
  });

  it('refuses an empty body on a switch that needs one, and arms nothing', async () => {
    // Prepare
    const sim = await start();

    // Act
    const slow = await call(sim, 'POST', '/_simulator/slow');
    const malformed = await call(sim, 'POST', '/_simulator/malformed', '');
    const emptyObject = await call(sim, 'POST', '/_simulator/slow', '{}');

    // Assess
    expect(slow).toEqual({
      status: 400,
      body: {
        errorCode: 'INVALID_PARAMETER',
        errorMessage: 'POST /_simulator/slow needs a JSON body, e.g. {"count":1,"delayMs":3000}',
      },
    });
    expect(malformed.status).toBe(400);
    expect(emptyObject.body.errorMessage).toBe('POST /_simulator/slow: body: give delayMs or "hang": true');
    expect(sim.stats().requests).toBe(0);
    expect((await call(sim, 'GET', '/_simulator/stats')).status).toBe(200);
  });

  it('answers a bad body with one readable line in ThingSpace shape', async () => {
    // Prepare
    const sim = await start();

    // Act
    const wrongTypes = await call(sim, 'POST', '/_simulator/fail', JSON.stringify({ count: 'x' }));
    const notJson = await call(sim, 'POST', '/_simulator/fail', 'status=503');
    const unknownField = await call(sim, 'PUT', '/_simulator/latency', JSON.stringify({ latency: 5 }));

    // Assess
    expect(wrongTypes.status).toBe(400);
    expect(wrongTypes.body).toEqual({
      errorCode: 'INVALID_PARAMETER',
      errorMessage:
        'POST /_simulator/fail: count: Invalid input: expected number, received string; status: Invalid input: expected number, received undefined',
    });
    expect(notJson.body).toEqual({
      errorCode: 'INVALID_PARAMETER',
      errorMessage: 'the body is not JSON; e.g. {"count":8,"status":503}',
    });
    expect(String(unknownField.body.errorMessage)).not.toContain('\n');
    expect(unknownField.body.errorMessage).toMatch(/^PUT \/_simulator\/latency: /);
  });

  it('names an unknown switch and points to the listing', async () => {
    // Prepare
    const sim = await start();

    // Act
    const unknown = await call(sim, 'POST', '/_simulator/explode', '{}');

    // Assess
    expect(unknown).toEqual({
      status: 404,
      body: {
        errorCode: 'NOT_FOUND',
        errorMessage: 'no simulator switch POST /_simulator/explode; GET /_simulator lists them',
      },
    });
  });
});
