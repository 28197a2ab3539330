/**
 * An API Gateway route's handler with Powertools, every failure answered in ThingSpace's error shape
 * (domain failures by the failure table, anything else as INTERNAL_ERROR).
 * A refused request (4xx) is counted and logged by its code alone, never with its body or headers (they
 * may hold credentials); anything else is logged as an error.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ApiError, apiErrorOf, INTERNAL_ERROR_BODY } from './http-failures';
import { logger, metrics } from './powertools';
import { withPowertools } from './powertools-handler';

/** What an API handler counts and logs a failed request as. */
export interface FailureNames {
  refusedMetric: string;
  failedMetric: string;
  /** The log message's subject: `<subject> refused` / `<subject> failed`. */
  subject: string;
}

const REQUEST_FAILURES: FailureNames = {
  refusedMetric: 'ClientErrors',
  failedMetric: 'ServerErrors',
  subject: 'request',
};

export function apiGatewayHandler(
  lambdaHandler: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>,
  names: FailureNames = REQUEST_FAILURES,
) {
  const logFailure = (error: unknown): void => {
    const refused = error instanceof ApiError && error.statusCode < 500;
    metrics.addMetric(refused ? names.refusedMetric : names.failedMetric, MetricUnit.Count, 1);
    if (refused) logger.info(`${names.subject} refused`, { errorCode: error.errorCode, statusCode: error.statusCode });
    else logger.error(`${names.subject} failed`, error as Error);
  };
  // Error handler last: it runs first on the way out, so every failure leaves in ThingSpace's shape.
  return withPowertools<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(httpErrorHandler({ logger: logFailure, fallbackMessage: INTERNAL_ERROR_BODY }))
    .handler(async (event, context) => {
      try {
        return await lambdaHandler(event, context);
      } catch (error) {
        throw apiErrorOf(error) ?? error;
      }
    });
}
