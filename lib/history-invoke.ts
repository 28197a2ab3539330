/**
 * The merged history for callers inside AWS that invoke Lambda directly (Step Functions, other
 * functions): payload `{account, deviceId}`, result the same array the API returns, without
 * API Gateway's 29-second limit or its request cost.
 */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { grantHistoryAccess, type HistoryAccess } from './history-access';
import { ServiceFunction } from './service-function';

export interface HistoryInvokeProps {
  readonly access: HistoryAccess;
  readonly logLevel: string;
  /** At most this many invocations run at once; more are throttled (TooManyRequestsException) for the caller to retry. */
  readonly reservedConcurrency?: number;
}

export class HistoryInvoke extends Construct {
  readonly handler: ServiceFunction;

  constructor(scope: Construct, id: string, props: HistoryInvokeProps) {
    super(scope, id);
    this.handler = new ServiceFunction(this, 'GetHistory', {
      entryFile: 'get-history-invoke.ts',
      description: 'Invoke with {account, deviceId}: ThingSpace upgrade history merged with the archive',
      timeout: Duration.seconds(30),
      logLevel: props.logLevel,
      // Callers inside AWS can fan out far faster than API Gateway's throttle allows; this bounds how
      // hard they can hit the shared, rate-limited ThingSpace API through this function.
      reservedConcurrentExecutions: props.reservedConcurrency,
    });
    grantHistoryAccess(this.handler, props.access, { callsThingSpace: true });

    new CfnOutput(this, 'FunctionName', {
      key: 'HistoryInvokeFunctionName',
      value: this.handler.lambda.functionName,
      description: 'lambda:InvokeFunction target taking {account, deviceId}',
    });
  }
}
