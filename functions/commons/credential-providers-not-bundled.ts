/**
 * Stands in, in the Lambda bundles, for the SDK credential providers its default chain reaches only after
 * `fromEnv` fails (shared config and SSO files, a credential process, a web identity token file). Lambda
 * puts the role's keys in the environment, so bundled they (and the STS and SSO clients they use) only
 * slowed every cold start. Each declines as a provider with nothing to offer does, so the chain goes on to
 * the container and instance-metadata providers, which stay bundled (lib/lambda-bundling.ts).
 */
import { CredentialsProviderError } from '@smithy/core/config';

const notBundled = (name: string) => () => async (): Promise<never> => {
  throw new CredentialsProviderError(`${name} is left out of the Lambda bundle (lib/lambda-bundling.ts)`, {
    tryNextLink: true,
  });
};

export const fromIni = notBundled('fromIni');
export const fromProcess = notBundled('fromProcess');
export const fromSSO = notBundled('fromSSO');
export const fromTokenFile = notBundled('fromTokenFile');
