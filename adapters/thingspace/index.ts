export { createThingSpaceClient, type ThingSpaceClientOptions } from './client';
export type { ThingSpaceLogger } from './transport';
export { parseCredentials, parseCredentialsJson, type CredentialsProvider, type ThingSpaceCredentials } from './credentials';
export { InMemoryLoginGuard, type LoginAttempt, type LoginGuard, type LoginGuardPolicy, type LoginPermit, type LoginRefusal } from './login-guard';
export { loginAttempt, scryptVerifier, userKey, type DeriveVerifier } from './login-attempt';
