/** SQS answers for tests that mock the SQS client (aws-sdk-client-mock). */
import type { SendMessageBatchCommandInput, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';

/** Every entry of the batch accepted, as SQS answers when all is well. */
export function allAccepted(input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput {
  return {
    Successful: (input.Entries ?? []).map((entry) => ({
      Id: entry.Id,
      MessageId: `m-${entry.Id}`,
      MD5OfMessageBody: '',
    })),
    Failed: [],
    $metadata: {},
  };
}
