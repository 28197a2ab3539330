export { createThingSpaceClient, type ThingSpaceClientOptions } from './client';
export type { ThingSpaceLogger } from './transport';
export {
  parseCredentials,
  parseCredentialsJson,
  type CredentialsProvider,
  type ThingSpaceCredentials,
} from './credentials';
export {
  InMemoryLoginGuardStore,
  LoginGuard,
  MAX_LOGIN_ATTEMPTS,
  userKey,
  type LoginGuardRecord,
  type LoginGuardStore,
} from './login-guard';
