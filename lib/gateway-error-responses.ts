/**
 * Errors API Gateway answers itself (before or instead of the Lambda) rewritten into ThingSpace's
 * `{errorCode, errorMessage}` shape, so clients switching from ThingSpace parse every error of this API
 * the same way. `$context.error.messageString` is already a quoted JSON string, hence no quotes around it.
 * DEFAULT_4XX/DEFAULT_5XX catch every type not listed here.
 */
import { ResponseType, type RestApi } from 'aws-cdk-lib/aws-apigateway';

export const GATEWAY_ERROR_CODES: ReadonlyArray<readonly [ResponseType, string]> = [
  [ResponseType.DEFAULT_4XX, 'REQUEST_REJECTED'],
  [ResponseType.DEFAULT_5XX, 'INTERNAL_ERROR'],
  [ResponseType.ACCESS_DENIED, 'ACCESS_DENIED'],
  // Also what API Gateway answers for a path that matches no route.
  [ResponseType.MISSING_AUTHENTICATION_TOKEN, 'MISSING_AUTHENTICATION_TOKEN'],
  [ResponseType.INVALID_SIGNATURE, 'INVALID_SIGNATURE'],
  [ResponseType.EXPIRED_TOKEN, 'EXPIRED_TOKEN'],
  [ResponseType.BAD_REQUEST_PARAMETERS, 'INVALID_PARAMETER'],
  [ResponseType.THROTTLED, 'THROTTLED'],
  [ResponseType.INTEGRATION_TIMEOUT, 'INTEGRATION_TIMEOUT'],
  [ResponseType.INTEGRATION_FAILURE, 'INTEGRATION_FAILURE'],
];

function gatewayErrorTemplate(errorCode: string): string {
  return `{"errorCode":"${errorCode}","errorMessage":$context.error.messageString}`;
}

export function addGatewayErrorResponses(api: RestApi): void {
  for (const [type, errorCode] of GATEWAY_ERROR_CODES) {
    api.addGatewayResponse(`GatewayError${type.responseType}`, {
      type,
      templates: { 'application/json': gatewayErrorTemplate(errorCode) },
    });
  }
}
