/** dynalite in a process of its own (in memory), so the service under test does not also host the store. */
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';

const store = await startEmbeddedDynamoDb({ host: '127.0.0.1' });
process.stdout.write(`dynalite listening on ${store.endpoint}\n`);
const stop = () => {
  store.close().finally(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
