import { DEMO_CREDENTIALS } from '../../local/thingspace-simulator';

/**
 * Points the handlers' dependencies (built from the environment at first use, as in Lambda) at a test
 * table and a simulator, with retries paced for tests. `overrides` adds or replaces variables. Call it
 * before importing a handler module; restore `process.env` after the file.
 */
export function useHandlerEnvironment(
  target: { tableName: string; dynamoDbEndpoint: string; thingspaceUrl: string },
  overrides: Record<string, string> = {},
): void {
  Object.assign(process.env, {
    TABLE_NAME: target.tableName,
    DYNAMODB_ENDPOINT: target.dynamoDbEndpoint,
    THINGSPACE_BASE_URL: target.thingspaceUrl,
    THINGSPACE_CREDENTIALS: JSON.stringify(DEMO_CREDENTIALS),
    THINGSPACE_MAX_ATTEMPTS: '2',
    THINGSPACE_RETRY_BASE_MS: '1',
    ...overrides,
  });
}
