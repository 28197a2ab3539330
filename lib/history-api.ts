/**
 * The REST API: ThingSpace's history route (`GET /reports/...`) and the archive routes
 * (`GET /archive/...`), each on its own function.
 */
import { CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../functions/commons/configuration';
import { addGatewayErrorResponses } from './gateway-error-responses';
import { grantArchiveRead, grantHistoryAccess, type HistoryAccess } from './history-access';
import { ServiceFunction } from './service-function';

export interface HistoryApiProps {
  readonly access: HistoryAccess;
  readonly logLevel: string;
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** The table's archive-query indexes (HistoryTable.archiveIndexNames), which the archive routes Query. */
  readonly archiveIndexNames?: readonly string[];
}

/** Stage name mirrors ThingSpace's `/api/fota/v1`, so the client's base URL is the only change. */
export const HISTORY_API_STAGE = 'v1';
/** The upgrades route's query parameters (domain/archive-query.ts), declared so the API documents them. */
const ARCHIVE_QUERY_PARAMETERS = [
  'upgradeId',
  'firmwareTo',
  'firmwareFrom',
  'status',
  'deviceId',
  'from',
  'to',
  'limit',
  'nextToken',
];

/**
 * API Gateway gives up on an integration after 29 s. The function gets 28 s, and the handler's own
 * deadline answers before that, so a slow ThingSpace yields a `{errorCode, errorMessage}` body from the
 * handler, not an anonymous gateway timeout.
 */
const HISTORY_FUNCTION_TIMEOUT = Duration.seconds(28);

/** `GET /reports/{account}/devices/{deviceId}`: ThingSpace's history path, answered with archived records too. */
export class HistoryApi extends Construct {
  readonly api: RestApi;
  readonly handler: ServiceFunction;
  /** GET /archive/...: the archive routes' function (reads the table only). */
  readonly archiveHandler: ServiceFunction;
  /** Signs the archive routes' nextTokens. */
  readonly archiveTokenKey: Secret;

  constructor(scope: Construct, id: string, props: HistoryApiProps) {
    super(scope, id);

    this.handler = new ServiceFunction(this, 'GetHistory', {
      entryFile: 'get-history-api.ts',
      description: 'GET /reports/{account}/devices/{deviceId}: ThingSpace upgrade history merged with the archive',
      timeout: HISTORY_FUNCTION_TIMEOUT,
      logLevel: props.logLevel,
    });
    grantHistoryAccess(this.handler, props.access, { callsThingSpace: true });

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.api = new RestApi(this, 'Api', {
      restApiName: 'thingspace-fota-history',
      description: 'ThingSpace FOTA v1 device upgrade history, including records older than six months',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      // Execution logging needs the account-wide API Gateway CloudWatch role. Retained on delete because
      // other APIs in the region may rely on the same account setting.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: HISTORY_API_STAGE,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(accessLogFormat()),
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
        tracingEnabled: true,
        metricsEnabled: true,
        // Errors only, and never request/response bodies: access logs already record every request.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
      },
    });
    addGatewayErrorResponses(this.api);

    const device = this.api.root
      .addResource('reports')
      .addResource('{account}')
      .addResource('devices')
      .addResource('{deviceId}');
    device.addMethod('GET', new LambdaIntegration(this.handler.lambda, { allowTestInvoke: false }), {
      authorizationType: AuthorizationType.IAM,
      requestParameters: {
        'method.request.path.account': true,
        'method.request.path.deviceId': true,
      },
      // Rejects a request missing a path parameter before it costs an invocation; the handler checks
      // formats. Body validation is on too (a GET has no body model, so it checks nothing) so that any
      // route added later is validated by default.
      requestValidatorOptions: { validateRequestParameters: true, validateRequestBody: true },
    });

    this.archiveTokenKey = new Secret(this, 'ArchiveTokenKey', {
      description: 'HMAC key that signs the nextTokens of GET /archive/{account}/upgrades (generated, never shown)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    this.archiveHandler = new ServiceFunction(this, 'GetArchive', {
      entryFile: 'get-archive-api.ts',
      description: "GET /archive/...: a device's archive and filtered, paged archive queries (reads DynamoDB only)",
      timeout: HISTORY_FUNCTION_TIMEOUT,
      logLevel: props.logLevel,
      environment: { [ENV.ARCHIVE_TOKEN_SECRET_ID]: this.archiveTokenKey.secretArn },
    });
    grantArchiveRead(this.archiveHandler, props.access.table, props.archiveIndexNames ?? []);
    this.archiveTokenKey.grantRead(this.archiveHandler.lambda);
    Validations.of(this.archiveTokenKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The key only signs paging cursors (integrity, not secrecy of data); rotating it would turn every nextToken in flight into a 400 and buys nothing, since a leaked key lets a caller forge only a position in data the same IAM caller may already read.',
    });

    const archiveIntegration = new LambdaIntegration(this.archiveHandler.lambda, { allowTestInvoke: false });
    const archiveValidator = this.api.addRequestValidator('ArchiveValidator', {
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const archiveAccount = this.api.root.addResource('archive').addResource('{account}');
    archiveAccount
      .addResource('devices')
      .addResource('{deviceId}')
      .addMethod('GET', archiveIntegration, {
        authorizationType: AuthorizationType.IAM,
        requestParameters: { 'method.request.path.account': true, 'method.request.path.deviceId': true },
        requestValidator: archiveValidator,
      });
    archiveAccount.addResource('upgrades').addMethod('GET', archiveIntegration, {
      authorizationType: AuthorizationType.IAM,
      requestParameters: {
        'method.request.path.account': true,
        ...Object.fromEntries(ARCHIVE_QUERY_PARAMETERS.map((name) => [`method.request.querystring.${name}`, false])),
      },
      requestValidator: archiveValidator,
    });

    // RestApi's own output carries a hashed name; one stable `HistoryApiUrl` is easier to script against.
    this.api.node.tryRemoveChild('Endpoint');
    new CfnOutput(this, 'Url', {
      key: 'HistoryApiUrl',
      value: this.api.url,
      description: 'Base URL replacing https://thingspace.verizon.com/api/fota/v1 for the history route',
    });

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Only SigV4-signed requests from IAM principals of this account get past IAM authorization, and stage throttling bounds load; a WAF web ACL would add cost without filtering any traffic IAM lets through.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are AWS workloads (services, Step Functions, operators) authorized by IAM SigV4, not end users with Cognito identities.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The account-level API Gateway logging role uses the AWS managed policy API Gateway documents for it; it is shared by every API of the region, whose log group names are not known here.',
    });
  }
}

/** One JSON object per request, with the fields needed to trace a failure to its caller and its cause. */
const ACCESS_LOG_FIELDS = {
  requestId: AccessLogField.contextRequestId(),
  extendedRequestId: AccessLogField.contextExtendedRequestId(),
  requestTime: AccessLogField.contextRequestTime(),
  requestTimeEpoch: AccessLogField.contextRequestTimeEpoch(),
  sourceIp: AccessLogField.contextIdentitySourceIp(),
  callerArn: AccessLogField.contextIdentityUserArn(),
  userAgent: AccessLogField.contextIdentityUserAgent(),
  httpMethod: AccessLogField.contextHttpMethod(),
  resourcePath: AccessLogField.contextResourcePath(),
  path: AccessLogField.contextPath(),
  protocol: AccessLogField.contextProtocol(),
  status: AccessLogField.contextStatus(),
  responseLength: AccessLogField.contextResponseLength(),
  responseLatency: AccessLogField.contextResponseLatency(),
  integrationStatus: AccessLogField.contextIntegrationStatus(),
  integrationLatency: AccessLogField.contextIntegrationLatency(),
  integrationError: AccessLogField.contextIntegrationErrorMessage(),
  errorType: AccessLogField.contextErrorResponseType(),
  xrayTraceId: AccessLogField.contextXrayTraceId(),
};

/** `$context.error.messageString` is already a quoted, escaped JSON string, so it goes in unquoted. */
function accessLogFormat(): string {
  const quotedFields = JSON.stringify(ACCESS_LOG_FIELDS);
  return `${quotedFields.slice(0, -1)},"errorMessage":${AccessLogField.contextErrorMessageString()}}`;
}
