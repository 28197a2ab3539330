/**
 * The Powertools middleware every handler is wrapped in, and the SQS workers' record-by-record batch
 * handling.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger, metrics, tracer } from './powertools';

/** Every handler's Powertools wiring: traced, logging with the Lambda context, metrics flushed on the way out. */
export function withPowertools<TEvent, TResult>() {
  return middy<TEvent, TResult>()
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

/**
 * An SQS worker that handles each record on its own and reports the failed ones (ReportBatchItemFailures),
 * so one bad message never sends a whole batch back to the queue.
 */
export function sqsRecordHandler(handleRecord: (record: SQSRecord, context: Context) => Promise<void>) {
  const processor = new BatchProcessor(EventType.SQS);
  return withPowertools<SQSEvent, SQSBatchResponse>().handler((event, context) =>
    processPartialResponse(event, (record: SQSRecord) => handleRecord(record, context), processor, {
      context,
      throwOnFullBatchFailure: false,
    }),
  );
}
