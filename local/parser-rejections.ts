/**
 * What a caller gets for a request Node's HTTP parser refuses before any handler sees it (control
 * bytes in the path, headers over 16 KB, a method HTTP does not know, a request that never ends).
 * Node itself answers those with an empty 400/431; the API promises ThingSpace's error shape on
 * every error, so these get it too.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { failureAnswer } from '../functions/commons/failure-table';

interface ParserRejection {
  statusCode: number;
  errorCode: string;
  errorMessage: string;
  headers?: Record<string, string>;
}

function parserRejection(error: NodeJS.ErrnoException): ParserRejection {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { statusCode: 431, errorCode: 'HEADERS_TOO_LARGE', errorMessage: 'The request headers exceed 16 KB' };
    case 'HPE_INVALID_METHOD':
      return {
        statusCode: 405,
        errorCode: 'METHOD_NOT_ALLOWED',
        errorMessage: 'The request method is not HTTP; use GET',
        headers: { Allow: 'GET' },
      };
    case 'HPE_INVALID_URL':
      return failureAnswer({
        kind: 'invalid-parameter',
        message: 'The request path contains characters a URL cannot hold',
      });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return { statusCode: 408, errorCode: 'REQUEST_TIMEOUT', errorMessage: 'The request was not received in time' };
    case 'HPE_CONTENT_LENGTH_MISMATCH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return { statusCode: 400, errorCode: 'BAD_REQUEST', errorMessage: 'The request body is framed inconsistently' };
    default:
      return { statusCode: 400, errorCode: 'BAD_REQUEST', errorMessage: 'The request is not valid HTTP/1.1' };
  }
}

/**
 * http.Server's 'clientError' listener: writes the whole response on the raw socket (there is no
 * response object at this stage) and closes the connection, since the parser cannot resume on it.
 */
export function answerParserRejection(error: NodeJS.ErrnoException, socket: Duplex): void {
  // The peer is gone, or a response is already under way on this connection: nothing can be written.
  const busy = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || !socket.writable || busy) {
    socket.destroy();
    return;
  }
  const rejection = parserRejection(error);
  const body = JSON.stringify({ errorCode: rejection.errorCode, errorMessage: rejection.errorMessage });
  const headers = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...rejection.headers,
  };
  socket.end(
    [
      `HTTP/1.1 ${rejection.statusCode} ${STATUS_CODES[rejection.statusCode] ?? 'Error'}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      '',
      body,
    ].join('\r\n'),
  );
}
