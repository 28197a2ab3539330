/**
 * What a deployed function talks to besides DynamoDB and ThingSpace, stood in for the cold-start
 * benchmark so that its first event does what it does in Lambda: read the credentials secret through the
 * real Secrets Manager client, and send trace segments to an X-Ray daemon.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HOST } from './environment';

export interface LambdaStandIns {
  /** For AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  secretsManagerUrl: string;
  /** For AWS_XRAY_DAEMON_ADDRESS. */
  xrayDaemonAddress: string;
  secretReads(): number;
  traceDocuments(): number;
  close(): Promise<void>;
}

/** Answers every GetSecretValue with `secretString`; counts the UDP datagrams an X-Ray SDK sends. */
export async function startLambdaStandIns(secretString: string): Promise<LambdaStandIns> {
  let secretReads = 0;
  let traceDocuments = 0;
  const secrets = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      secretReads += 1;
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({
          ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:thingspace-fota-history/credentials-AbCdEf',
          Name: 'thingspace-fota-history/credentials',
          SecretString: secretString,
          VersionId: '00000000-0000-4000-8000-000000000000',
          VersionStages: ['AWSCURRENT'],
          CreatedDate: 1_764_633_600,
        }),
      );
    });
  });
  const daemon = createSocket('udp4');
  daemon.on('message', () => {
    traceDocuments += 1;
  });
  const close = async () => {
    secrets.closeAllConnections();
    await new Promise<void>((done) => secrets.close(() => done()));
    await new Promise<void>((done) => daemon.close(() => done()));
  };
  try {
    await new Promise<void>((done, fail) => secrets.once('error', fail).listen(0, HOST, done));
    await new Promise<void>((done, fail) => daemon.once('error', fail).bind(0, HOST, done));
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return {
    secretsManagerUrl: `http://${HOST}:${(secrets.address() as AddressInfo).port}`,
    xrayDaemonAddress: `${HOST}:${daemon.address().port}`,
    secretReads: () => secretReads,
    traceDocuments: () => traceDocuments,
    close,
  };
}
