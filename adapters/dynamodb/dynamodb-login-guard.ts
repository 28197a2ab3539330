/**
 * The ThingSpace login guard's records in the history table:
 * pk THINGSPACE#LOGIN, sk GUARD#<hash of the username>.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { CallOptions } from '../../domain/ports';
import {
  type ExpectedRecord,
  type LoginGuardRecord,
  type LoginGuardStore,
  MAX_LOGIN_ATTEMPTS,
} from '../thingspace/login-guard';
import { isConditionalCheckFailed } from './request-errors';
import { ITEM_TYPES, loginGuardKey } from './table-schema';

export interface DynamoDbLoginGuardOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** How long a call without a deadline may take, the SDK's retries included, before it is aborted. */
  defaultBudgetMs?: number;
}

const DEFAULT_BUDGET_MS = 20_000;

const NUMBERS = ['version', 'attempts', 'pausedUntil', 'leaseUntil', 'lastAttemptAt', 'lastSuccessAt'] as const;
const STRINGS = ['fingerprint', 'salt', 'leaseOwner', 'lastOutcome'] as const;

/**
 * A consistent GetItem, and a PutItem conditional on the record it replaces. The same code serves Lambda,
 * `npm start` and `npm run sync` (whose embedded store speaks the DynamoDB API too), so every process
 * shares one count per user.
 */
export class DynamoDbLoginGuard implements LoginGuardStore {
  constructor(private readonly options: DynamoDbLoginGuardOptions) {}

  async read(userKey: string, options?: CallOptions): Promise<LoginGuardRecord | undefined> {
    const { Item } = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: loginGuardKey(userKey), ConsistentRead: true }),
      { abortSignal: this.abortSignal(options) },
    );
    return Item === undefined ? undefined : parseRecord(Item);
  }

  async write(
    userKey: string,
    record: LoginGuardRecord,
    expected: ExpectedRecord | undefined,
    options?: CallOptions,
  ): Promise<boolean> {
    const item = {
      ...record,
      ...loginGuardKey(userKey),
      type: ITEM_TYPES.loginGuard,
      updatedAt: new Date().toISOString(),
    };
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: item,
          ...conditionFor(expected),
        }),
        { abortSignal: this.abortSignal(options) },
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** The operator's reset: the record goes, and the user's next login may be tried at once. */
  async reset(userKey: string): Promise<LoginGuardRecord | undefined> {
    const { Attributes } = await this.options.client.send(
      new DeleteCommand({ TableName: this.options.tableName, Key: loginGuardKey(userKey), ReturnValues: 'ALL_OLD' }),
      { abortSignal: this.abortSignal(undefined) },
    );
    return Attributes === undefined ? undefined : parseRecord(Attributes);
  }

  /** Aborts the call, the SDK's retries and their waits included, at the caller's deadline or after the default budget. */
  private abortSignal(options: CallOptions | undefined): AbortSignal {
    const remainingMs =
      options?.deadline === undefined
        ? (this.options.defaultBudgetMs ?? DEFAULT_BUDGET_MS)
        : options.deadline - Date.now();
    return AbortSignal.timeout(Math.min(2 ** 31 - 1, Math.max(0, remainingMs)));
  }
}

/** The PutItem's condition: no record yet, or the expected one (its version, and its lease owner if named). */
function conditionFor(
  expected: ExpectedRecord | undefined,
): Pick<PutCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
  if (expected === undefined) return { ConditionExpression: 'attribute_not_exists(pk)' };
  if (expected.leaseOwner === undefined) {
    return {
      ConditionExpression: '#version = :version',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':version': expected.version },
    };
  }
  return {
    ConditionExpression: '#version = :version AND #leaseOwner = :leaseOwner',
    ExpressionAttributeNames: { '#version': 'version', '#leaseOwner': 'leaseOwner' },
    ExpressionAttributeValues: { ':version': expected.version, ':leaseOwner': expected.leaseOwner },
  };
}

/**
 * Read defensively: anyone with table access can edit the item, and one that cannot be trusted throws
 * (then nobody logs in). An item of the earlier guard (`refusals`, `stopped`) keeps its count.
 */
function parseRecord(raw: Record<string, unknown>): LoginGuardRecord {
  const record: Record<string, unknown> = {};
  for (const name of NUMBERS) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new Error(`The login guard item's ${name} is not a number`);
    record[name] = value;
  }
  for (const name of STRINGS) if (typeof raw[name] === 'string') record[name] = raw[name];
  if (record.version === undefined) throw new Error('The login guard item has no version');
  const earlier = typeof raw.refusals === 'number' ? raw.refusals : 0;
  const attempts = Math.max(
    (record.attempts as number | undefined) ?? 0,
    earlier,
    raw.stopped === true ? MAX_LOGIN_ATTEMPTS : 0,
  );
  return { ...(record as unknown as LoginGuardRecord), attempts };
}
