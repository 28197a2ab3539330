export { createThingSpaceClient, type ThingSpaceClientOptions } from './client';
export {
  type CredentialsProvider,
  parseCredentials,
  parseCredentialsJson,
  type ThingSpaceCredentials,
} from './credentials';
export {
  InMemoryLoginGuardStore,
  LoginGuard,
  type LoginGuardRecord,
  type LoginGuardStore,
  MAX_LOGIN_ATTEMPTS,
  userKey,
} from './login-guard';
export type { ThingSpaceLogger } from './transport';
