/**
 * The handlers' configuration for a test table and a simulator, with retries paced for tests, parsed
 * from variables as the deployed functions' is.
 */
import { parseServiceConfig, type ServiceConfig } from '../../functions/commons/configuration';
import { DEMO_CREDENTIALS } from '../../local/thingspace-simulator';

/**
 * `overrides` adds or replaces variables. Pass the result to a dependencies builder and that to the
 * handler's makeHandler; nothing touches process.env.
 */
export function handlerConfig(
  target: { tableName: string; dynamoDbEndpoint: string; thingspaceUrl: string },
  overrides: Record<string, string | undefined> = {},
): ServiceConfig {
  return parseServiceConfig({
    TABLE_NAME: target.tableName,
    DYNAMODB_ENDPOINT: target.dynamoDbEndpoint,
    THINGSPACE_BASE_URL: target.thingspaceUrl,
    THINGSPACE_CREDENTIALS: JSON.stringify(DEMO_CREDENTIALS),
    THINGSPACE_MAX_ATTEMPTS: '2',
    THINGSPACE_RETRY_BASE_MS: '1',
    ...overrides,
  });
}
