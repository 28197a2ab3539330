/** A Lambda with this service's defaults: ESM bundle, arm64, X-Ray, its own log group, least-privilege role. */
import { fileURLToPath } from 'node:url';
import { type Duration, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type RecursiveLoop, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../functions/commons/configuration';
import { lambdaBundlingOptions } from './lambda-bundling';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Absolute path of a handler under `functions/`, e.g. `functionEntry('sync-devices.ts')`. */
export function functionEntry(fileName: string): string {
  return fileURLToPath(new URL(`../functions/${fileName}`, import.meta.url));
}

/** Pinned rather than NODEJS_LATEST so a runtime change is a reviewed diff; cdk-nag L1 flags when a newer one exists. */
const SERVICE_RUNTIME = Runtime.NODEJS_24_X;
export const POWERTOOLS_SERVICE_NAME = 'fota-history';
export const POWERTOOLS_METRICS_NAMESPACE = 'FotaHistory';

export interface ServiceFunctionProps {
  /** File name under `functions/`. */
  readonly entryFile: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly logLevel: string;
  readonly environment?: Record<string, string>;
  /** What Lambda does when it detects the function in a loop (default: Terminate, after 16 invocations). */
  readonly recursiveLoop?: RecursiveLoop;
  /** Reserved concurrency: at most this many instances run at once (and they are always available). */
  readonly reservedConcurrentExecutions?: number;
}

export class ServiceFunction extends Construct {
  readonly lambda: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);

    // Created here, not by Lambda on first write, so it has a retention and the role needs no logs:CreateLogGroup.
    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH });

    // Our own role instead of AWSLambdaBasicExecutionRole, whose logs:* on every log group is more than a
    // function writing to one known log group needs.
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.lambda = new NodejsFunction(this, 'Function', {
      entry: functionEntry(props.entryFile),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      bundling: lambdaBundlingOptions,
      description: props.description,
      runtime: SERVICE_RUNTIME,
      architecture: Architecture.ARM_64,
      // 512 MB on arm64: enough CPU share to keep JSON merge and TLS setup off the cold-start path.
      memorySize: 512,
      timeout: props.timeout,
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      role,
      recursiveLoop: props.recursiveLoop,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      // No NODE_OPTIONS=--enable-source-maps: it parses the whole source map on every cold start, while
      // functions/commons/source-mapped-stacks.ts reads it only for the first stack that needs it.
      environment: {
        [ENV.POWERTOOLS_SERVICE_NAME]: POWERTOOLS_SERVICE_NAME,
        [ENV.POWERTOOLS_METRICS_NAMESPACE]: POWERTOOLS_METRICS_NAMESPACE,
        [ENV.POWERTOOLS_LOG_LEVEL]: props.logLevel,
        ...props.environment,
      },
    });

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions, so their resource must be *.',
    });
  }
}
