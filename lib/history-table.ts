/**
 * The archive of every upgrade record ever seen. ThingSpace forgets records after six months, so this
 * table is the only copy of older history: it is retained, protected from deletion and recoverable.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  ARCHIVE_INDEX_KINDS,
  ARCHIVE_INDEX_PROJECTED_FIELDS,
  ARCHIVE_INDEXES,
  ARCHIVE_ORDER_ATTRIBUTE,
} from '../adapters/dynamodb/archive-indexes';

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
    this.addArchiveIndexes();
  }

  /** Names of the archive-query indexes this table has (all of them unless archiveIndexCount says fewer). */
  readonly archiveIndexNames: string[] = [];

  /**
   * The archive-query indexes (adapters/dynamodb/archive-indexes.ts). CloudFormation adds at most one
   * global secondary index to an existing table per update, so a stack deployed before these existed
   * takes them in steps with the context key `archiveIndexCount` (1, 2, ... 5); a new stack gets all.
   */
  private addArchiveIndexes(): void {
    const count = archiveIndexCount(this.node.tryGetContext('archiveIndexCount'));
    for (const kind of ARCHIVE_INDEX_KINDS.slice(0, count)) {
      const index = ARCHIVE_INDEXES[kind];
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: ARCHIVE_ORDER_ATTRIBUTE, type: AttributeType.STRING },
        projectionType: ProjectionType.INCLUDE,
        nonKeyAttributes: [...ARCHIVE_INDEX_PROJECTED_FIELDS],
      });
      this.archiveIndexNames.push(index.indexName);
    }
  }
}

function archiveIndexCount(value: unknown): number {
  if (value === undefined) return ARCHIVE_INDEX_KINDS.length;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0 || count > ARCHIVE_INDEX_KINDS.length) {
    throw new Error(
      `archiveIndexCount must be a whole number from 0 to ${ARCHIVE_INDEX_KINDS.length}, not ${JSON.stringify(value)}`,
    );
  }
  return count;
}
