import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Failure, FailureError, failureCode, upstreamFailure } from '../../domain/failure';
import { ThingSpaceError, type ThingSpaceFailure } from '../../domain/thingspace-error';
import { FAILURE_TABLE, failureAnswer, UNFORESEEN } from '../../functions/commons/failure-table';
import { ApiError, apiErrorOf, INTERNAL_ERROR_BODY } from '../../functions/commons/http-failures';
import { invokeFailure } from '../../functions/commons/invoke-failures';
import { syncDisposition } from '../../functions/commons/sync-failures';
import { DeviceSyncError } from '../../services/sync-device';

type Row = [failure: Failure, status: number, errorCode: string, errorMessage: string, sync: 'retry' | 'dead-letter'];

/** Every failure kind as callers see it: pinned here, so a change to the table is a visible decision. */
const ROWS: Row[] = [
  [
    { kind: 'invalid-parameter', message: 'Invalid device id format: deviceId is required' },
    400,
    'INVALID_PARAMETER',
    'Invalid device id format: deviceId is required',
    'dead-letter',
  ],
  [
    {
      kind: 'upstream-rejected',
      status: 404,
      errorCode: 'UnifiedWebService.REQUEST_FAILED.AccountNotFound',
      errorMessage: 'Account not found',
    },
    404,
    'UnifiedWebService.REQUEST_FAILED.AccountNotFound',
    'Account not found',
    'dead-letter',
  ],
  [
    { kind: 'upstream-rejected', status: 409 },
    409,
    'UPSTREAM_HTTP_409',
    'ThingSpace rejected the request',
    'dead-letter',
  ],
  [
    { kind: 'upstream-rejected', status: 302 },
    400,
    'UPSTREAM_HTTP_302',
    'ThingSpace rejected the request',
    'dead-letter',
  ],
  [{ kind: 'upstream-rejected' }, 400, 'UPSTREAM_HTTP_400', 'ThingSpace rejected the request', 'dead-letter'],
  [
    { kind: 'upstream-unavailable' },
    502,
    'UPSTREAM_UNAVAILABLE',
    'ThingSpace is unavailable and nothing is archived for this device',
    'retry',
  ],
  [
    { kind: 'upstream-malformed' },
    502,
    'UPSTREAM_UNAVAILABLE',
    'ThingSpace answered with malformed data and nothing is archived for this device',
    'retry',
  ],
  [
    { kind: 'upstream-auth-refused' },
    502,
    'UPSTREAM_AUTH_FAILED',
    "ThingSpace refused this service's credentials and nothing is archived for this device",
    'retry',
  ],
  [
    { kind: 'credentials-unavailable' },
    502,
    'CREDENTIALS_UNAVAILABLE',
    'This service could not read its ThingSpace credentials (the secret); ThingSpace was not called and nothing is archived for this device',
    'retry',
  ],
  [
    { kind: 'archive-unavailable' },
    503,
    'ARCHIVE_UNAVAILABLE',
    'The history archive is unavailable; retry later',
    'retry',
  ],
  [
    { kind: 'upstream-timeout' },
    504,
    'UPSTREAM_TIMEOUT',
    'ThingSpace did not answer in time and nothing is archived for this device',
    'retry',
  ],
  [{ kind: 'callback-not-configured' }, 404, 'NOT_FOUND', 'No callback listener is configured', 'dead-letter'],
  [
    { kind: 'callback-unauthorized' },
    401,
    'UNAUTHORIZED',
    'The callback credentials are missing or wrong',
    'dead-letter',
  ],
  [
    { kind: 'callback-too-large', limitBytes: 262_144 },
    413,
    'PAYLOAD_TOO_LARGE',
    'The callback body exceeds 262144 bytes',
    'dead-letter',
  ],
];

describe('the failure table', () => {
  it('has a pinned row for every failure kind', () => {
    expect(new Set(ROWS.map(([failure]) => failure.kind))).toEqual(new Set(Object.keys(FAILURE_TABLE)));
  });

  it('retries exactly what is answered 5xx (unavailable) and dead-letters exactly the refusals (4xx)', () => {
    for (const [failure, status, , , sync] of ROWS)
      expect([failure.kind, sync]).toEqual([failure.kind, status >= 500 ? 'retry' : 'dead-letter']);
  });
});

describe('HTTP edge (API Gateway handlers, npm start)', () => {
  it.each(ROWS)('answers %j with %i %s', (failure, status, errorCode, errorMessage) => {
    // Prepare
    const cause = new Error('what went wrong underneath');

    // Act
    const answer = apiErrorOf(new FailureError(failure, 'internal description', { cause }));

    // Assess
    expect(answer).toBeInstanceOf(ApiError);
    expect(answer).toMatchObject({ statusCode: status, expose: true, cause });
    expect(answer?.body).toEqual({ errorCode, errorMessage });
    expect(JSON.parse(answer?.message ?? '')).toEqual({ errorCode, errorMessage });
  });

  it('leaves an unforeseen error to the fallback answer, 500 INTERNAL_ERROR without detail', () => {
    expect(apiErrorOf(new Error('boom at /work/x.ts:1'))).toBeUndefined();
    expect(JSON.parse(INTERNAL_ERROR_BODY)).toEqual({
      errorCode: 'INTERNAL_ERROR',
      errorMessage: 'The service failed to answer; retry later',
    });
    expect(UNFORESEEN.status).toBe(500);
  });

  it('adds no cause to a refusal that had none', () => {
    const answer = apiErrorOf(new FailureError({ kind: 'invalid-parameter', message: 'bad' }, 'bad'));
    expect(answer && 'cause' in answer).toBe(false);
  });
});

describe('direct-invoke edge (get-history-invoke)', () => {
  it.each(ROWS)('throws %j as an error named %s', (failure, status, errorCode, errorMessage) => {
    // Act
    const { thrown, logged } = invokeFailure(new FailureError(failure, 'internal description'));

    // Assess
    expect(thrown.name).toBe(errorCode);
    expect(thrown).toMatchObject({ errorCode, errorMessage, statusCode: status, message: errorMessage });
    expect(thrown.stack).toBe(`${errorCode}: ${errorMessage}`);
    // The service's own failures are logged as errors; the caller's refusals are not.
    if (status >= 500) expect(logged).toMatchObject({ statusCode: status, errorCode });
    else expect(logged).toBeUndefined();
  });

  it('throws an unforeseen error as INTERNAL_ERROR (500) and logs the original', () => {
    const original = new TypeError('x is undefined');
    const { thrown, logged } = invokeFailure(original);
    expect(thrown).toMatchObject({
      name: 'INTERNAL_ERROR',
      statusCode: 500,
      message: 'The service failed to answer; retry later',
    });
    expect(logged).toBe(original);
  });
});

describe('sync edge (SQS workers)', () => {
  it.each(ROWS)('disposes of %j: %s %s', (failure, _status, errorCode, _message, sync) => {
    // Act
    const disposition = syncDisposition(new FailureError(failure, 'what the worker saw'));

    // Assess
    expect(disposition).toEqual(
      sync === 'retry'
        ? { action: 'retry', errorCode }
        : { action: 'dead-letter', reason: { errorCode, errorMessage: 'what the worker saw' } },
    );
  });

  it('retries an unforeseen error, logged as UNEXPECTED', () => {
    expect(syncDisposition(new Error('socket hang up'))).toEqual({ action: 'retry', errorCode: 'UNEXPECTED' });
  });

  it("dead-letters a device ThingSpace refuses with ThingSpace's code and the client's message", () => {
    // Prepare
    const refusal = new ThingSpaceError('rejected', 'ThingSpace rejected the history request: AccountNotFound', {
      status: 400,
      errorCode: 'AccountNotFound',
    });

    // Act
    const disposition = syncDisposition(new DeviceSyncError(upstreamFailure(refusal), refusal.message));

    // Assess
    expect(disposition).toEqual({
      action: 'dead-letter',
      reason: {
        errorCode: 'AccountNotFound',
        errorMessage: 'ThingSpace rejected the history request: AccountNotFound',
      },
    });
  });
});

describe('ThingSpace failures in the service terms', () => {
  it.each<[ThingSpaceFailure, ThingSpaceError['details'], string]>([
    ['rejected', { status: 400, errorCode: 'INVALID_PARAMETER' }, 'INVALID_PARAMETER'],
    ['rejected', { status: 404 }, 'UPSTREAM_HTTP_404'],
    ['rejected', {}, 'UPSTREAM_HTTP_400'],
    ['unavailable', {}, 'UPSTREAM_UNAVAILABLE'],
    ['malformed', {}, 'UPSTREAM_UNAVAILABLE'],
    ['timeout', {}, 'UPSTREAM_TIMEOUT'],
    ['auth', { status: 401 }, 'UPSTREAM_AUTH_FAILED'],
    ['credentials', {}, 'CREDENTIALS_UNAVAILABLE'],
  ])('records a %s failure (%j) in the sync state as %s', (kind, details, errorCode) => {
    const failure = upstreamFailure(new ThingSpaceError(kind, 'failed', details));
    expect(failureCode(failure)).toBe(errorCode);
    expect(new DeviceSyncError(failure, 'failed').errorCode).toBe(errorCode);
  });
});

/** The rows of the first `| status | errorCode | when |` table after `heading`. */
function readmeTable(heading: string): { status: string; errorCode: string; when: string }[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf(`\n${heading}\n`));
  const lines = section.split('\n');
  const header = lines.findIndex((line) => line.startsWith('| status | errorCode | when |'));
  const rows: { status: string; errorCode: string; when: string }[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [status = '', errorCode = '', when = ''] = line.split(' | ').map((cell) => cell.replace(/^\| ?| ?\|$/g, ''));
    rows.push({ status: status.trim(), errorCode: errorCode.trim(), when: when.trim() });
  }
  return rows;
}

/** The (status, errorCode) pairs a README row states: `502 | A / B` states 502 A and 502 B. */
function pairsOf(row: { status: string; errorCode: string }): string[] {
  const codes = [...row.errorCode.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
  return row.status.split('/').flatMap((status) => codes.map((code) => `${status} ${code}`));
}

/** The (status, errorCode) pair the failure table gives a kind, when its status does not depend on the failure. */
function tablePairs(kinds: Failure['kind'][]): string[] {
  return ROWS.filter(([failure]) => kinds.includes(failure.kind)).map(
    ([failure]) => `${failureAnswer(failure).statusCode} ${failureAnswer(failure).errorCode}`,
  );
}

describe("the README's error tables document the failure table", () => {
  const CALLBACK_KINDS: Failure['kind'][] = ['callback-not-configured', 'callback-unauthorized', 'callback-too-large'];
  const API_KINDS = (Object.keys(FAILURE_TABLE) as Failure['kind'][]).filter(
    (kind) => kind !== 'upstream-rejected' && !CALLBACK_KINDS.includes(kind),
  );

  it('lists on the API table every failure the API answers with, and nothing the table does not give', () => {
    // Prepare: rows the failure table does not decide: ThingSpace's passed-through refusals,
    // API Gateway's own answers, and what npm start's router and HTTP parser answer before any handler.
    const rows = readmeTable('## The API');
    const passedThrough = rows.filter((row) => row.errorCode === "ThingSpace's own");
    const documented = rows
      .filter((row) => row.errorCode !== "ThingSpace's own" && !row.errorCode.startsWith("API Gateway's"))
      .filter((row) => !row.when.startsWith('`npm start` only'))
      .flatMap(pairsOf);
    const expected = [...tablePairs(API_KINDS), `${UNFORESEEN.status} ${UNFORESEEN.errorCode}`];

    // Assess
    expect(new Set(documented)).toEqual(new Set(expected));
    expect(passedThrough.map((row) => row.status)).toEqual(['4xx']);
  });

  it("lists on the callback route's table every refusal the route answers with", () => {
    const documented = readmeTable('### ThingSpace FOTA callbacks')
      .filter((row) => row.status !== '200' && !row.when.startsWith('API Gateway'))
      .flatMap(pairsOf);
    expect(new Set(documented)).toEqual(new Set(tablePairs([...CALLBACK_KINDS, 'invalid-parameter'])));
  });
});
