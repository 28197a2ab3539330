/** A floor part: only Powertools' Tracer (the X-Ray SDK) around a handler that does nothing, under middy. */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';

const tracer = new Tracer({ serviceName: 'fota-history' });

export const handler = middy(async () => ({ statusCode: 200, body: '' })).use(captureLambdaHandler(tracer));
