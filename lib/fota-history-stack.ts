import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { CallbackListener } from './callback-listener';
import { ChangeEvents } from './change-events';
import { FleetSync } from './fleet-sync';
import type { FotaHistoryConfig } from './fota-history-config';
import type { HistoryAccess } from './history-access';
import { HistoryApi } from './history-api';
import { HistoryInvoke } from './history-invoke';
import { HistoryTable } from './history-table';
import { importThingSpaceConnection } from './thingspace-secret';

export interface FotaHistoryStackProps extends StackProps {
  readonly config: FotaHistoryConfig;
}

/** ThingSpace FOTA history kept forever: the archive table, the history API, direct invoke and fleet sync. */
export class FotaHistoryStack extends Stack {
  readonly historyTable: HistoryTable;
  readonly historyApi: HistoryApi;
  readonly historyInvoke: HistoryInvoke;
  readonly fleetSync: FleetSync;
  readonly changeEvents: ChangeEvents;
  readonly callbackListener: CallbackListener;

  constructor(scope: Construct, id: string, props: FotaHistoryStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.historyTable = new HistoryTable(this, 'History');
    const access: HistoryAccess = {
      table: this.historyTable.table,
      thingSpace: importThingSpaceConnection(this, 'ThingSpaceCredentials', config),
    };

    this.historyApi = new HistoryApi(this, 'HistoryApi', {
      access,
      logLevel: config.logLevel,
      throttleRateLimit: config.apiThrottleRateLimit,
      throttleBurstLimit: config.apiThrottleBurstLimit,
    });
    this.historyInvoke = new HistoryInvoke(this, 'HistoryInvoke', { access, logLevel: config.logLevel });
    this.fleetSync = new FleetSync(this, 'FleetSync', {
      access,
      logLevel: config.logLevel,
      fleetAccounts: config.fleetAccounts,
      schedule: config.syncSchedule,
      syncMaxConcurrency: config.syncMaxConcurrency,
    });

    this.changeEvents = new ChangeEvents(this, 'ChangeEvents', {
      table: this.historyTable.table,
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

    if (config.alarmTopicArn) {
      // The operator's topic: a dead-lettered device is one whose history may age out unseen.
      const topic = Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn);
      for (const alarm of [
        this.fleetSync.syncQueue.deadLetterAlarm,
        this.fleetSync.discoveryQueue.deadLetterAlarm,
        this.changeEvents.deadLetterAlarm,
      ]) {
        alarm.addAlarmAction(new SnsAction(topic));
      }
    }

    new CfnOutput(this, 'HistoryTableName', { value: this.historyTable.table.tableName });
  }
}
