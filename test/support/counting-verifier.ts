import { scryptVerifier, type DeriveVerifier } from '../../adapters/thingspace/login-attempt';

/** The real scrypt verifier, counted: the verifier of a refused password must never be derived on the normal path. */
export function countingScrypt(): { counter: { calls: number }; derive: DeriveVerifier } {
  const counter = { calls: 0 };
  const derive: DeriveVerifier = (secret, salt) => {
    counter.calls += 1;
    return scryptVerifier(secret, salt);
  };
  return { counter, derive };
}
