import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/**
 * The archive of every upgrade record ever seen. ThingSpace forgets records after six months, so this
 * table is the only copy of older history: it is retained, protected from deletion and recoverable.
 */
export class HistoryTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      // Traffic follows fleet syncs and API bursts, not a steady rate; on-demand needs no capacity planning.
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // The AWS managed key encrypts at rest with key use visible in CloudTrail, without a CMK's monthly
      // cost, per-request KMS calls or a key policy to maintain. Records hold device ids and firmware
      // versions, not credentials, so a customer-controlled key adds little.
      encryption: TableEncryption.AWS_MANAGED,
      // Change events (lib/change-events.ts) come from this stream: both images, to tell a first
      // sighting from a change and to report the previous state.
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
  }
}
