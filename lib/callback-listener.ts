/**
 * `POST /callbacks/thingspace`: ThingSpace's FOTA callbacks. ThingSpace cannot sign requests, so this is
 * the API's one route without IAM; the handler authenticates the username/password registered with
 * ThingSpace (the secret's callbackUsername/callbackPassword), and the route has its own, lower
 * throttling. It only enqueues device syncs: nothing in a callback body reaches the archive.
 */
import { CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import { AuthorizationType, type CfnStage, LambdaIntegration, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../functions/commons/configuration';
import { grantThingSpaceSecretRead } from './history-access';
import { ServiceFunction } from './service-function';
import type { ThingSpaceConnection } from './thingspace-secret';

export interface CallbackListenerProps {
  readonly api: RestApi;
  readonly thingSpace: ThingSpaceConnection;
  /** The fleet sync's queue: a callback only enqueues syncs. */
  readonly syncQueue: IQueue;
  readonly logLevel: string;
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
}

const CALLBACK_PATH = '/callbacks/thingspace';
const CALLBACK_FUNCTION_TIMEOUT = Duration.seconds(10);

export class CallbackListener extends Construct {
  readonly handler: ServiceFunction;
  readonly url: string;

  constructor(scope: Construct, id: string, props: CallbackListenerProps) {
    super(scope, id);

    this.handler = new ServiceFunction(this, 'Handler', {
      entryFile: 'thingspace-callback.ts',
      description:
        'POST /callbacks/thingspace: authenticates ThingSpace FOTA callbacks and queues their devices for sync',
      timeout: CALLBACK_FUNCTION_TIMEOUT,
      logLevel: props.logLevel,
      environment: {
        [ENV.SYNC_QUEUE_URL]: props.syncQueue.queueUrl,
      },
    });
    grantThingSpaceSecretRead(this.handler, props.thingSpace);
    props.syncQueue.grantSendMessages(this.handler.lambda);

    const resource = props.api.root.addResource('callbacks').addResource('thingspace');
    const method = resource.addMethod('POST', new LambdaIntegration(this.handler.lambda, { allowTestInvoke: false }), {
      authorizationType: AuthorizationType.NONE,
    });

    // Method-level throttling on the stage, below the stage-wide limits: an unauthenticated route must
    // not be able to use up the API's capacity or flood the sync queue.
    const stage = props.api.deploymentStage.node.defaultChild as CfnStage;
    const existing = (stage.methodSettings ?? []) as CfnStage.MethodSettingProperty[];
    stage.methodSettings = [
      ...existing,
      {
        httpMethod: 'POST',
        // CloudFormation's encoding: each '/' of the path as ~1, after a leading '/'.
        resourcePath: `/${CALLBACK_PATH.replace(/\//g, '~1')}`,
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
      },
    ];

    this.url = props.api.urlForPath(CALLBACK_PATH);
    new CfnOutput(this, 'Url', {
      key: 'CallbackListenerUrl',
      value: this.url,
      description: 'Register with: npm run callbacks -- register --account ACCOUNT --url <this URL>',
    });

    Validations.of(method).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'ThingSpace cannot sign requests with SigV4 or present a Cognito token; the handler authenticates the username/password registered with ThingSpace (compared in constant time), and the method has its own throttling.',
    });
    Validations.of(method).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'The caller is ThingSpace, a third-party service with no Cognito identity; it sends the registered credentials instead.',
    });
  }
}
