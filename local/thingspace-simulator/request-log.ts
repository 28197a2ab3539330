/** What the simulator saw: method, path and status only (never a header value or a body). */
import type { RequestLogEntry } from './types';

export class RequestLog {
  private entries: RequestLogEntry[] = [];
  total = 0;
  historyCalls = 0;
  listCalls = 0;
  private readonly historyCallsByDevice = new Map<string, number>();

  constructor(private readonly limit: number) {}

  record(entry: RequestLogEntry): void {
    this.total += 1;
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries = this.entries.slice(-Math.ceil(this.limit / 2));
  }

  countHistoryCall(deviceId: string): void {
    this.historyCalls += 1;
    this.historyCallsByDevice.set(deviceId, (this.historyCallsByDevice.get(deviceId) ?? 0) + 1);
  }

  historyCallsFor(deviceId: string): number {
    return this.historyCallsByDevice.get(deviceId) ?? 0;
  }

  list(): RequestLogEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }

  reset(): void {
    this.entries = [];
    this.total = 0;
    this.historyCalls = 0;
    this.listCalls = 0;
    this.historyCallsByDevice.clear();
  }
}
