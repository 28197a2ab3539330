/** The ThingSpace simulator as npm start, the bench and the tests use it. */
export {
  DEMO_ACCOUNT,
  DEMO_DEVICE_FROM_DOCS,
  DEMO_DEVICE_WITH_FAILURE,
  DEMO_DEVICE_WITHOUT_HISTORY,
  seedDemoData,
} from './demo-data';
export { DEMO_CREDENTIALS, startThingSpaceSimulator, ThingSpaceSimulator } from './simulator';
export type { SimulatorOptions } from './types';
