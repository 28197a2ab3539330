/** How the store tells DynamoDB's refusals apart (throttling and 5xx are the SDK's to retry: client.ts). */

/**
 * DynamoDB refused the request itself (an item over 400 KB, a key over its size limit, ...): the same
 * request fails the same way every time, so it is neither retried nor a sign the store is down.
 */
export function isPermanentRequestError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException';
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
