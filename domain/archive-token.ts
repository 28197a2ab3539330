/**
 * The opaque `nextToken` of the upgrades route: where the last page ended (an order key), bound to the
 * account and filters it was issued for and signed with HMAC-SHA256, so a token that was altered, made
 * up, or issued for another account or other filters is refused instead of answering something else.
 * `limit` is not bound: it may change between pages.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ArchiveFilters } from './archive-query';
import { invalidParameter } from './failure';

interface TokenPayload {
  v: 1;
  a: string;
  f: string;
  p: string;
}

const CONTEXT = 'fota-history archive nextToken v1';
const MIN_KEY_BYTES = 16;

export class ArchiveTokenSigner {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length < MIN_KEY_BYTES) throw new Error(`the archive token key must be at least ${MIN_KEY_BYTES} bytes`);
    this.key = key;
  }

  issue(account: string, filters: ArchiveFilters, position: string): string {
    const payload: TokenPayload = { v: 1, a: account, f: canonicalFilters(filters), p: position };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  /** The position to continue after; an invalid-parameter failure for any token that does not fit. */
  verify(token: string, account: string, filters: ArchiveFilters): string {
    const refused = (why: string) => invalidParameter(`nextToken ${why}; start again without it`);
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) throw refused('is not a token this service issued');
    const expected = this.mac(body);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw refused('is not a token this service issued');
    }
    let payload: Partial<TokenPayload>;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<TokenPayload>;
    } catch {
      throw refused('is not a token this service issued');
    }
    if (payload.v !== 1 || typeof payload.p !== 'string') throw refused('is not a token this service issued');
    if (payload.a !== account) throw refused('was issued for another account');
    if (payload.f !== canonicalFilters(filters)) throw refused('was issued for other filters');
    return payload.p;
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(`${CONTEXT}.${body}`).digest();
  }
}

/** The filters in a fixed order, so the same question always binds to the same string. */
function canonicalFilters(filters: ArchiveFilters): string {
  const names = Object.keys(filters)
    .filter((name) => filters[name as keyof ArchiveFilters] !== undefined)
    .sort();
  return JSON.stringify(names.map((name) => [name, filters[name as keyof ArchiveFilters]]));
}
