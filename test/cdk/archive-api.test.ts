import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildStack, logicalIdOf, resourcesOfType } from './stack-template';

// Prepare (once per file)
const { template } = buildStack();

describe('archive routes and indexes', () => {
  it.each([
    ['archiveaccountdevicesdeviceId', { 'method.request.path.account': true, 'method.request.path.deviceId': true }],
    [
      'archiveaccountupgrades',
      {
        'method.request.path.account': true,
        'method.request.querystring.firmwareTo': false,
        'method.request.querystring.nextToken': false,
      },
    ],
  ])('serves GET on %s with IAM authorization, a validator and the archive function', (fragment, parameters) => {
    // Act
    const resourceId = logicalIdOf(template, 'AWS::ApiGateway::Resource', fragment);
    const archiveFunction = logicalIdOf(template, 'AWS::Lambda::Function', 'GetArchive');

    // Assess
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'AWS_IAM',
      ResourceId: { Ref: resourceId },
      RequestParameters: Match.objectLike(parameters),
      RequestValidatorId: Match.anyValue(),
      Integration: Match.objectLike({
        Type: 'AWS_PROXY',
        Uri: Match.objectLike({
          'Fn::Join': Match.arrayWith([
            Match.arrayWith([Match.objectLike({ 'Fn::GetAtt': [archiveFunction, 'Arn'] })]),
          ]),
        }),
      }),
    });
  });

  it('gives the table one index per filter, keyed by its value and sorted by the archive order, projecting the nine fields', () => {
    // Act
    const [table] = Object.values(resourcesOfType(template, 'AWS::DynamoDB::Table'));
    const indexes = table?.Properties?.GlobalSecondaryIndexes as Array<Record<string, unknown>>;

    // Assess
    expect(indexes.map((index) => index.IndexName).sort()).toEqual([
      'byDate',
      'byFirmwareFrom',
      'byFirmwareTo',
      'byStatus',
      'byUpgradeId',
    ]);
    for (const index of indexes) {
      expect(index.KeySchema).toEqual([
        { AttributeName: expect.stringMatching(/^gsi/), KeyType: 'HASH' },
        { AttributeName: 'gsiOrder', KeyType: 'RANGE' },
      ]);
      expect(index.Projection).toEqual({
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: [
          'deviceId',
          'id',
          'accountName',
          'firmwareFrom',
          'firmwareTo',
          'startDate',
          'upgradeStartTime',
          'status',
          'reason',
        ],
      });
    }
  });

  it('adds the indexes one deploy at a time on an existing table with archiveIndexCount', () => {
    // Act
    const { template: withTwo } = buildStack({ archiveIndexCount: '2' });
    const [table] = Object.values(resourcesOfType(withTwo, 'AWS::DynamoDB::Table'));
    const indexes = table?.Properties?.GlobalSecondaryIndexes as Array<Record<string, unknown>>;

    // Assess
    expect(indexes.map((index) => index.IndexName)).toEqual(['byUpgradeId', 'byFirmwareTo']);
    expect(() => buildStack({ archiveIndexCount: '9' })).toThrow(/archiveIndexCount/);
  });
});
