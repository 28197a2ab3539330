import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { ARCHIVE_ROUTES, CALLBACK_ROUTE, HEALTH_PATH, OPENAPI_PATH } from '../../local/api-gateway-server';
import { HISTORY_RESOURCE } from '../../local/lambda-emulation';
import { openApiDocument } from '../support/openapi';
import { buildStack, resourcesOfType } from './stack-template';

// Prepare (once per file)
const { template } = buildStack();

/** Every GET path API Gateway serves, rebuilt from the template's resources and methods. */
function stackRoutes(): string[] {
  const resources = resourcesOfType(template, 'AWS::ApiGateway::Resource');
  const pathOf = (id: string): string => {
    const resource = resources[id];
    if (!resource) return '';
    const parent = (resource.Properties?.ParentId as { Ref?: string } | undefined)?.Ref;
    return `${parent ? pathOf(parent) : ''}/${String(resource.Properties?.PathPart)}`;
  };
  return Object.values(resourcesOfType(template, 'AWS::ApiGateway::Method')).map((method) => {
    const resourceId = (method.Properties?.ResourceId as { Ref?: string }).Ref ?? '';
    return `${String(method.Properties?.HttpMethod).toLowerCase()} ${pathOf(resourceId) || '/'}`;
  });
}

const documented = (): string[] =>
  Object.entries(openApiDocument.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method} ${path}`),
  );

describe('the OpenAPI document (openapi/openapi.json)', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    // Act
    const result = await new Validator().validate(structuredClone(openApiDocument));

    // Assess
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(openApiDocument.openapi).toMatch(/^3\.1\./);
  });

  it('describes every route the CDK stack serves', () => {
    // Act
    const routes = stackRoutes();

    // Assess
    expect(routes.length).toBeGreaterThan(0);
    expect(documented()).toEqual(expect.arrayContaining(routes));
  });

  it('describes every route npm start serves', () => {
    // Act
    const routes = [
      ...[HISTORY_RESOURCE, ...ARCHIVE_ROUTES.map((route) => route.resource), OPENAPI_PATH, HEALTH_PATH].map(
        (path) => `get ${path}`,
      ),
      `post ${CALLBACK_ROUTE}`,
    ];

    // Assess
    expect(documented()).toEqual(expect.arrayContaining(routes));
  });
});
