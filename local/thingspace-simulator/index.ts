export { LOGINS_BEFORE_LOCK } from './auth';
export {
  DEMO_ACCOUNT,
  DEMO_DEVICE_FROM_DOCS,
  DEMO_DEVICE_WITH_FAILURE,
  DEMO_DEVICE_WITHOUT_HISTORY,
  seedDemoData,
} from './demo-data';
export { DEMO_CREDENTIALS, startThingSpaceSimulator, ThingSpaceSimulator } from './simulator';
export type { SyntheticFleetOptions } from './synthetic-fleet';
export type { FaultAction, RequestLogEntry, SimulatedDevice, SimulatorOptions, SimulatorStats } from './types';
