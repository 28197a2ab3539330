/**
 * Runs the simulator on its own with the demo data: `npm run simulator` (SIMULATOR_PORT, default 4010).
 * SYNTHETIC_FLEET_SIZE (and SYNTHETIC_RECORDS, LATENCY_MS) add a large generated account for benchmarks.
 */
import { DEFAULT_HOST, ENV } from '../../functions/commons/configuration';
import { DEMO_CREDENTIALS, seedDemoData, startThingSpaceSimulator } from './index';

const SYNTHETIC_ACCOUNT = '0000000001-00001';

function numberFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

const simulator = await startThingSpaceSimulator({
  // SIMULATOR_PORT, as for npm start's built-in simulator; PORT still works for existing scripts.
  port: numberFromEnv(process.env[ENV.SIMULATOR_PORT] ? ENV.SIMULATOR_PORT : ENV.PORT, 4010),
  host: process.env[ENV.HOST] ?? DEFAULT_HOST,
  latencyMs: numberFromEnv(ENV.LATENCY_MS, 0),
});
seedDemoData(simulator);
const fleetSize = numberFromEnv(ENV.SYNTHETIC_FLEET_SIZE, 0);
if (fleetSize > 0) {
  simulator.addSyntheticFleet(SYNTHETIC_ACCOUNT, {
    size: fleetSize,
    recordsPerDevice: numberFromEnv(ENV.SYNTHETIC_RECORDS, 3),
  });
}

console.log(`ThingSpace simulator listening on ${simulator.url}`);
console.log(`demo app key: ${DEMO_CREDENTIALS.appKey}, demo API user: ${DEMO_CREDENTIALS.username} (demo values only)`);
if (fleetSize > 0) console.log(`synthetic account ${SYNTHETIC_ACCOUNT}: ${fleetSize} devices`);

const stop = () => {
  simulator.close().finally(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
