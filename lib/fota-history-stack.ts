import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
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
      archiveIndexNames: this.historyTable.archiveIndexNames,
    });
    this.historyInvoke = new HistoryInvoke(this, 'HistoryInvoke', { access, logLevel: config.logLevel });
    this.fleetSync = new FleetSync(this, 'FleetSync', {
      access,
      logLevel: config.logLevel,
      fleetAccounts: config.fleetAccounts,
      schedule: config.syncSchedule,
      syncMaxConcurrency: config.syncMaxConcurrency,
    });

    if (config.alarmTopicArn) {
      // The operator's topic: a dead-lettered device is one whose history may age out unseen.
      const topic = Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn);
      for (const alarm of [this.fleetSync.syncQueue.deadLetterAlarm, this.fleetSync.discoveryQueue.deadLetterAlarm]) {
        alarm.addAlarmAction(new SnsAction(topic));
      }
    }

    new CfnOutput(this, 'HistoryTableName', { value: this.historyTable.table.tableName });
  }
}
