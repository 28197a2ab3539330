import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { GATEWAY_ERROR_CODES } from '../../lib/gateway-error-responses';
import { HISTORY_API_STAGE } from '../../lib/history-api';
import { buildStack, logicalIdOf, resourcesOfType } from './stack-template';

// Prepare (once per file): the stack template with bundling skipped.
const { template } = buildStack();

describe('history API', () => {
  it('serves GET /reports/{account}/devices/{deviceId} with IAM authorization and a validated path', () => {
    // Act
    const resources = resourcesOfType(template, 'AWS::ApiGateway::Resource');
    const pathParts = Object.values(resources).map((resource) => resource.Properties?.PathPart);
    const deviceResourceId = logicalIdOf(template, 'AWS::ApiGateway::Resource', 'reportsaccountdevicesdeviceId');

    // Assess
    expect(pathParts).toEqual(expect.arrayContaining(['reports', '{account}', 'devices', '{deviceId}']));
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'AWS_IAM',
      ResourceId: { Ref: deviceResourceId },
      RequestParameters: { 'method.request.path.account': true, 'method.request.path.deviceId': true },
      RequestValidatorId: Match.anyValue(),
      Integration: Match.objectLike({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' }),
    });
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestParameters: true });
  });

  it('has no method that skips IAM authorization but the ThingSpace callback listener', () => {
    // Act
    const methods = Object.entries(resourcesOfType(template, 'AWS::ApiGateway::Method'));
    const withoutIam = methods.filter(([, method]) => method.Properties?.AuthorizationType !== 'AWS_IAM');

    // Assess
    expect(methods.length).toBeGreaterThan(1);
    expect(withoutIam.map(([id]) => id)).toEqual([expect.stringMatching(/^HistoryApicallbacksthingspacePOST/)]);
  });

  it('writes JSON access logs to a log group with retention, traces, meters and throttles the stage', () => {
    // Act
    const stages = resourcesOfType(template, 'AWS::ApiGateway::Stage');
    const [stage] = Object.values(stages);
    const accessLog = stage?.Properties?.AccessLogSetting as {
      DestinationArn: { 'Fn::GetAtt': [string, string] };
      Format: string;
    };

    // Assess
    expect(Object.keys(stages)).toHaveLength(1);
    expect(stage?.Properties).toMatchObject({
      StageName: HISTORY_API_STAGE,
      TracingEnabled: true,
      MethodSettings: expect.arrayContaining([
        expect.objectContaining({
          HttpMethod: '*',
          ResourcePath: '/*',
          MetricsEnabled: true,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        }),
      ]),
    });
    const accessLogGroupId = accessLog.DestinationArn['Fn::GetAtt'][0];
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 } });
    expect(resourcesOfType(template, 'AWS::Logs::LogGroup')[accessLogGroupId]?.Properties?.RetentionInDays).toBe(30);
    const sample = accessLog.Format.replace(/\$context\.error\.messageString/g, '"quoted"').replace(
      /\$context\.[A-Za-z.]+/g,
      'x',
    );
    expect(JSON.parse(sample)).toMatchObject({ requestId: 'x', status: 'x', callerArn: 'x', errorMessage: 'quoted' });
  });

  it('takes the throttling limits from context', () => {
    // Prepare
    const { template: throttled } = buildStack({ apiThrottleRateLimit: '7', apiThrottleBurstLimit: 9 });

    // Act + Assess
    throttled.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 })]),
    });
  });

  it('answers every gateway error in ThingSpace {errorCode, errorMessage} shape', () => {
    // Act
    const responses = Object.values(resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse')).map(
      (response) => response.Properties as { ResponseType: string; ResponseTemplates: Record<string, string> },
    );
    const types = responses.map((response) => response.ResponseType);

    // Assess
    expect(types).toEqual(
      expect.arrayContaining([
        'DEFAULT_4XX',
        'DEFAULT_5XX',
        'ACCESS_DENIED',
        'MISSING_AUTHENTICATION_TOKEN',
        'THROTTLED',
        'INTEGRATION_TIMEOUT',
      ]),
    );
    expect(responses).toHaveLength(GATEWAY_ERROR_CODES.length);
    for (const response of responses) {
      const body = response.ResponseTemplates['application/json'] ?? '';
      // What API Gateway renders: $context.error.messageString becomes a quoted JSON string.
      const rendered = JSON.parse(body.replace('$context.error.messageString', '"Missing Authentication Token"'));
      expect(Object.keys(rendered).sort()).toEqual(['errorCode', 'errorMessage']);
      expect(rendered.errorCode).toMatch(/^[A-Z_]+$/);
      expect(rendered.errorMessage).toBe('Missing Authentication Token');
    }
  });

  it('keeps the Lambda timeout under the 29 s integration timeout', () => {
    // Act
    const functionId = logicalIdOf(template, 'AWS::Lambda::Function', 'HistoryApiGetHistory');
    const timeout = resourcesOfType(template, 'AWS::Lambda::Function')[functionId]?.Properties?.Timeout as number;

    // Assess
    expect(timeout).toBeGreaterThanOrEqual(25);
    expect(timeout).toBeLessThan(29);
  });

  it('configures the account CloudWatch role execution logging needs and outputs the API URL', () => {
    // Act + Assess
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    template.hasOutput('HistoryApiUrl', { Value: Match.anyValue() });
    expect(Object.keys(template.findOutputs('*')).filter((key) => key.startsWith('HistoryApi'))).toEqual([
      'HistoryApiUrl',
    ]);
  });
});
