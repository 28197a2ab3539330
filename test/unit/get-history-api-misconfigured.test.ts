import { expect, it } from 'vitest';
import { parseServiceConfig } from '../../functions/commons/configuration';
import { buildHistoryDependencies } from '../../functions/commons/history-dependencies';
import { makeHandler } from '../../functions/get-history-api';
import { historyRequestEvent, lambdaContext } from '../support/lambda';

// No TABLE_NAME: the dependencies cannot be built, which the handler finds on its first request.
const config = parseServiceConfig({
  THINGSPACE_CREDENTIALS: JSON.stringify({ appKey: 'k', appSecret: 's', username: 'u', password: 'p' }),
  THINGSPACE_BASE_URL: 'http://127.0.0.1:9',
});
const handler = makeHandler(() => buildHistoryDependencies(config));

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
