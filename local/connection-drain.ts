/**
 * How npm start's server stops without resetting a connection: connections the kernel already completed
 * are accepted, and requests already sent are answered, before it closes.
 */
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';

/**
 * A connection the kernel completed just before the stop waits in the listen backlog until Node
 * accepts it, and closing the listener resets it (its caller saw ECONNRESET on a request it had
 * already sent). Node accepts one connection per event-loop turn, and a turn that also runs handlers
 * can take tens of ms, so the listener stays open until a turn accepts nothing, within this bound.
 */
const ACCEPT_BACKLOG_LIMIT_MS = 5_000;
/** How long an accepted connection may stay silent once the stop began before it is closed. */
const IDLE_GRACE_MS = 300;
const IDLE_CHECK_MS = 100;

export interface ConnectionDrain {
  /** True once a stop began: responses then carry `Connection: close`. */
  readonly closing: boolean;
  /**
   * Stops the server in order: accept what already arrived, stop listening, answer every request
   * received (in flight or arriving on an accepted connection within a short grace), close each
   * connection after its last response, and resolve when none is left. After `limitMs` the
   * connections still open are cut.
   */
  close(limitMs: number): Promise<void>;
}

/**
 * Resolves in the check phase of the event loop, right after a poll phase, where Node takes in what
 * the kernel holds (a connection in the backlog, request bytes on an accepted socket). A timer alone
 * is not enough: on a busy loop it fires before the poll phase of its turn. From inside a check phase
 * it resolves one whole turn later.
 */
const afterNextPoll = () => new Promise<void>((done) => setImmediate(done));

/** Waits until a whole event-loop turn accepts no connection, or the bound passes. */
async function acceptBacklog(server: Server, limitMs: number): Promise<void> {
  let accepted = true;
  const onConnection = () => {
    accepted = true;
  };
  server.on('connection', onConnection);
  try {
    const until = Date.now() + limitMs;
    await afterNextPoll();
    while (accepted && Date.now() < until) {
      accepted = false;
      await afterNextPoll();
    }
  } finally {
    server.off('connection', onConnection);
  }
}

export function drainConnections(server: Server): ConnectionDrain {
  let closing = false;
  let closed: Promise<void> | undefined;

  const close = (limitMs: number): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      await acceptBacklog(server, ACCEPT_BACKLOG_LIMIT_MS);
      // net.Server's close, not http.Server's: the latter also drops every idle connection at once,
      // including one just accepted whose request is still on its way.
      const allClosed = new Promise<void>((done) => NetServer.prototype.close.call(server, () => done()));
      // Node counts a connection as idle until it has parsed the start of a request, so the sweep runs
      // only after a poll phase has read what each connection already sent.
      let sweeping = true;
      const sweep = () => {
        void afterNextPoll().then(() => {
          if (!sweeping) return;
          server.closeIdleConnections();
          idleSweeper = setTimeout(sweep, IDLE_CHECK_MS);
        });
      };
      let idleSweeper = setTimeout(sweep, IDLE_GRACE_MS);
      const cut = setTimeout(() => server.closeAllConnections(), limitMs);
      try {
        await allClosed;
      } finally {
        sweeping = false;
        clearTimeout(idleSweeper);
        clearTimeout(cut);
      }
    })();
    return closed;
  };

  return {
    get closing() {
      return closing;
    },
    close,
  };
}
