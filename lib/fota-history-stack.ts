/** ThingSpace FOTA history kept forever: the archive table, the history API, direct invoke and fleet sync. */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ARCHIVE_INDEX_KINDS, ARCHIVE_INDEXES } from '../adapters/dynamodb/archive-indexes';
import { CallbackListener } from './callback-listener';
import { ChangeEvents } from './change-events';
import { FleetSync } from './fleet-sync';
import type { FotaHistoryConfig } from './fota-history-config';
import type { HistoryAccess } from './history-access';
import { HistoryApi } from './history-api';
import { HistoryInvoke } from './history-invoke';
import { HistoryTable } from './history-table';
import { OperationsMonitoring } from './operations-monitoring';
import { importThingSpaceConnection } from './thingspace-secret';

export interface FotaHistoryStackProps extends StackProps {
  readonly config: FotaHistoryConfig;
}

export class FotaHistoryStack extends Stack {
  /** The table this stack created; undefined when `existingTableName` re-attached a retained one. */
  readonly historyTable: HistoryTable | undefined;
  /** The archive table in use: created here, or the retained one named by `existingTableName`. */
  readonly table: ITable;
  readonly monitoring: OperationsMonitoring;
  readonly historyApi: HistoryApi;
  readonly historyInvoke: HistoryInvoke;
  readonly fleetSync: FleetSync;
  readonly changeEvents: ChangeEvents;
  readonly callbackListener: CallbackListener;

  constructor(scope: Construct, id: string, props: FotaHistoryStackProps) {
    super(scope, id, props);
    const { config } = props;

    // A table retained by a deleted stack cannot be created again under its name; re-attach it instead.
    this.historyTable = config.existingTableName ? undefined : new HistoryTable(this, 'History');
    this.table =
      this.historyTable?.table ??
      Table.fromTableAttributes(this, 'ExistingHistoryTable', {
        tableName: config.existingTableName!,
        tableStreamArn: config.existingTableStreamArn,
      });
    const access: HistoryAccess = {
      table: this.table,
      thingSpace: importThingSpaceConnection(this, 'ThingSpaceCredentials', config),
    };

    this.historyApi = new HistoryApi(this, 'HistoryApi', {
      access,
      logLevel: config.logLevel,
      throttleRateLimit: config.apiThrottleRateLimit,
      throttleBurstLimit: config.apiThrottleBurstLimit,
      // A re-attached table was created by this stack earlier, with every archive index.
      archiveIndexNames:
        this.historyTable?.archiveIndexNames ?? ARCHIVE_INDEX_KINDS.map((kind) => ARCHIVE_INDEXES[kind].indexName),
    });
    this.historyInvoke = new HistoryInvoke(this, 'HistoryInvoke', {
      access,
      logLevel: config.logLevel,
      reservedConcurrency: config.invokeReservedConcurrency,
    });
    this.fleetSync = new FleetSync(this, 'FleetSync', {
      access,
      logLevel: config.logLevel,
      fleetAccounts: config.fleetAccounts,
      schedule: config.syncSchedule,
      syncMaxConcurrency: config.syncMaxConcurrency,
      fullResyncDays: config.fullResyncDays,
    });

    this.changeEvents = new ChangeEvents(this, 'ChangeEvents', {
      table: this.table,
      logLevel: config.logLevel,
      eventBusArn: config.eventBusArn,
      eventBusName: config.eventBusName,
    });

    this.callbackListener = new CallbackListener(this, 'CallbackListener', {
      api: this.historyApi.api,
      thingSpace: access.thingSpace,
      syncQueue: this.fleetSync.syncQueue.queue,
      logLevel: config.logLevel,
      throttleRateLimit: config.callbackThrottleRateLimit,
      throttleBurstLimit: config.callbackThrottleBurstLimit,
    });

    const { fleetSync } = this;
    // The operator's topic: every alarm here means history that may age out unseen or callers failing.
    this.monitoring = new OperationsMonitoring(this, 'Operations', {
      functions: {
        HistoryApi: this.historyApi.handler,
        HistoryInvoke: this.historyInvoke.handler,
        SyncWorker: fleetSync.syncWorker,
        Discovery: fleetSync.discovery,
        ArchiveApi: this.historyApi.archiveHandler,
        ChangeEventPublisher: this.changeEvents.publisher,
        CallbackListener: this.callbackListener.handler,
      },
      api: this.historyApi.api,
      syncQueue: fleetSync.syncQueue.queue,
      discoveryQueue: fleetSync.discoveryQueue.queue,
      queues: {
        'sync queue': fleetSync.syncQueue.queue,
        'sync DLQ': fleetSync.syncQueue.deadLetterQueue,
        'discovery queue': fleetSync.discoveryQueue.queue,
        'discovery DLQ': fleetSync.discoveryQueue.deadLetterQueue,
        'event target DLQ': fleetSync.eventTargetDeadLetterQueue,
        'change event DLQ': this.changeEvents.deadLetterQueue,
      },
      otherAlarms: [
        fleetSync.syncQueue.deadLetterAlarm,
        fleetSync.discoveryQueue.deadLetterAlarm,
        fleetSync.eventTargetDeadLetterAlarm,
        fleetSync.recursionDroppedAlarm,
        this.changeEvents.deadLetterAlarm,
      ],
      alarmAction: config.alarmTopicArn
        ? new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn))
        : undefined,
    });

    new CfnOutput(this, 'HistoryTableName', { value: this.table.tableName });
  }
}
