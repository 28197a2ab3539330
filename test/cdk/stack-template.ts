import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { readFotaHistoryConfig } from '../../lib/fota-history-config';
import { FotaHistoryStack } from '../../lib/fota-history-stack';

export const FLEET_ACCOUNTS = ['0242078689-00001', '0342078689-00002'];

/** Context as an operator would pass it; bundling skipped so templates build in milliseconds. */
export function buildStack(context: Record<string, unknown> = { fleetAccounts: FLEET_ACCOUNTS.join(',') }): {
  app: App;
  stack: FotaHistoryStack;
  template: Template;
} {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new FotaHistoryStack(app, 'FotaHistoryStack', { config: readFotaHistoryConfig(app.node) });
  return { app, stack, template: Template.fromStack(stack) };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown }>;

export function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** The logical id of the only resource of `type` whose id contains `fragment`. */
export function logicalIdOf(template: Template, type: string, fragment: string): string {
  const ids = Object.keys(resourcesOfType(template, type)).filter((id) => id.includes(fragment));
  if (ids.length !== 1) throw new Error(`expected one ${type} matching ${fragment}, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

/** The logical id CloudFormation sees for an L2 construct of the stack. */
export function logicalIdFor(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}
