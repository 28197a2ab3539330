import { afterAll, beforeAll, expect, it } from 'vitest';
import { historyRequestEvent, lambdaContext } from '../support/lambda';

type Handler = typeof import('../../functions/get-history-api')['handler'];

const savedEnv = { ...process.env };
let handler: Handler;

beforeAll(async () => {
  delete process.env.TABLE_NAME;
  process.env.THINGSPACE_CREDENTIALS = JSON.stringify({ appKey: 'k', appSecret: 's', username: 'u', password: 'p' });
  process.env.THINGSPACE_BASE_URL = 'http://127.0.0.1:9';
  ({ handler } = await import('../../functions/get-history-api'));
});

afterAll(() => {
  process.env = savedEnv;
});

it("answers a failure nobody foresaw with 500 in ThingSpace's error shape and no stack trace", async () => {
  // Act
  const result = await handler(
    historyRequestEvent({ account: '0242078689-00001', deviceId: '990000473475989' }),
    lambdaContext(),
  );

  // Assess
  expect(result.statusCode).toBe(500);
  expect(result.headers?.['Content-Type']).toBe('application/json');
  expect(JSON.parse(result.body)).toEqual({
    errorCode: 'INTERNAL_ERROR',
    errorMessage: 'The service failed to answer; retry later',
  });
  expect(result.body).not.toContain('TABLE_NAME');
});
