/** Discovery worker: pages an account's device list into the sync queue, continuing itself until done. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { SqsDeviceSyncQueue } from '../adapters/sqs/sqs-device-sync-queue';
import { SqsMessageSender } from '../adapters/sqs/sqs-message-sender';
import { parseAccount } from '../domain/device-key';
import { discoverFleet } from '../services/discover-fleet';
import type { HistoryDependencies } from '../services/observe-device';
import { deployedConfig, ENV, required, type ServiceConfig } from './commons/configuration';
import { deadLetter } from './commons/dead-letter';
import { deadlineFor } from './commons/deadline';
import { deployedHistoryDependencies } from './commons/history-dependencies';
import { parseMessage } from './commons/message-body';
import { logger, metrics } from './commons/powertools';
import { sqsRecordHandler } from './commons/powertools-handler';
import { sqsClient } from './commons/sqs-client';

/** Stop taking pages while this much time is left, so the last page's enqueue and checkpoint finish. */
const PAUSE_WITH_MS_LEFT = 60_000;
/** The store's calls give up this long before the function's end, so a stalled store fails the message in time. */
const STORE_RESERVE_MS = 10_000;

/**
 * `{account}` from the schedule, `{account, full: true}` for a pass that asks every device, or
 * `{account, runId}` to continue a paused pass (which keeps the pass's `full`).
 */
export interface DiscoveryMessage {
  account: string;
  runId?: string;
  full?: boolean;
}

export interface DiscoveryDependencies {
  history: HistoryDependencies;
  sqs: SQSClient;
  /** `sync`, `discovery` (where a paused pass continues) and `discoveryDeadLetter`. */
  queues: ServiceConfig['queues'];
  fullResyncDays: number;
}

async function discoverRecord(record: SQSRecord, context: Context, dependencies: DiscoveryDependencies): Promise<void> {
  const { sqs, queues } = dependencies;
  const parsed = parseMessage(record.body, (payload) => ({
    account: parseAccount(payload.account),
    runId: typeof payload.runId === 'string' && payload.runId !== '' ? payload.runId : undefined,
    full: payload.full === true,
  }));
  if ('refused' in parsed) {
    await deadLetter(
      record,
      { client: sqs, queueUrl: required(queues.discoveryDeadLetter, ENV.DISCOVERY_DLQ_URL) },
      parsed.refused,
    );
    return;
  }
  const { account } = parsed.value;
  // A retried schedule message keeps its messageId, so its pass resumes instead of starting over.
  const continuation = parsed.value.runId !== undefined;
  const runId = parsed.value.runId ?? record.messageId;
  logger.appendKeys({ account, runId });

  const { thingspace, store } = dependencies.history;
  const syncQueue = new SqsDeviceSyncQueue(
    new SqsMessageSender({ client: sqs, queueUrl: required(queues.sync, ENV.SYNC_QUEUE_URL) }),
  );
  const outcome = await discoverFleet(
    account,
    { thingspace, store, syncQueue },
    {
      runId,
      continuation,
      full: parsed.value.full,
      fullResyncDays: dependencies.fullResyncDays,
      deadline: deadlineFor(context, PAUSE_WITH_MS_LEFT),
      storeDeadline: deadlineFor(context, STORE_RESERVE_MS),
      shouldContinue: () => context.getRemainingTimeInMillis() > PAUSE_WITH_MS_LEFT,
      onPage: (_checkpoint, devicesOnPage) => metrics.addMetric('DevicesEnqueued', MetricUnit.Count, devicesOnPage),
    },
  );
  logger.info('discovery pass', { state: outcome.state, checkpoint: outcome.checkpoint });
  if (outcome.state === 'done') recordPassMetrics(outcome.checkpoint);

  if (outcome.state === 'paused') {
    await new SqsMessageSender({
      client: sqs,
      queueUrl: required(queues.discovery, ENV.DISCOVERY_QUEUE_URL),
    }).sendAll([{ account, runId } satisfies DiscoveryMessage]);
  }
}

/** Per finished pass: how many devices the list named, how many were asked, how many skipped and why. */
function recordPassMetrics(checkpoint: {
  devicesListed?: number;
  devicesEnqueued: number;
  skipped?: Record<string, number | undefined>;
}): void {
  metrics.addMetric('DevicesListed', MetricUnit.Count, checkpoint.devicesListed ?? 0);
  metrics.addMetric('DevicesAsked', MetricUnit.Count, checkpoint.devicesEnqueued);
  metrics.addMetric(
    'DevicesSkipped',
    MetricUnit.Count,
    Object.values(checkpoint.skipped ?? {}).reduce<number>((sum, count) => sum + (count ?? 0), 0),
  );
}

export function makeHandler(dependencies: () => DiscoveryDependencies) {
  return sqsRecordHandler((record, context) => discoverRecord(record, context, dependencies()));
}

/**
 * Deployed: one set of dependencies per execution environment, from the environment the stack sets. The
 * ThingSpace and store side is built at its first use, after the message is parsed: a message that can
 * never succeed is still dead-lettered with its reason when that side cannot be built (say, a secret id
 * missing), and such a failure is retried like any other.
 */
export const handler = makeHandler(() => ({
  get history() {
    return deployedHistoryDependencies();
  },
  sqs: sqsClient(),
  queues: deployedConfig().queues,
  fullResyncDays: deployedConfig().fullResyncDays,
}));
