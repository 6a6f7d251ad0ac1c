import { UserError } from '../../errors.js';

/**
 * A failed Alibaba Cloud API call: names the call, the resource it was about and Alibaba's
 * RequestId (quote it to Alibaba's support). The message never holds a credential.
 */
export class CloudApiError extends UserError {
  override name = 'CloudApiError';
  constructor(
    /** `ECS RunInstances`, `VPC CreateVpc`, … */
    readonly call: string,
    /** What the call was about: `vpc sealer-<id>`, `instance sealer-<id>-master0`, … */
    readonly resource: string,
    /** Alibaba's error code (`Throttling.User`, `OperationDenied.NoStock`, …); `Network` without an answer. */
    readonly code: string,
    readonly requestId: string | undefined,
    detail: string,
    /** Whether the call may have done its work although no answer came back. */
    readonly outcomeUnknown = false,
  ) {
    super(`${call} for ${resource} failed: ${code}: ${detail}${requestId ? ` (RequestId ${requestId})` : ''}`);
  }
}

/**
 * Removes every occurrence of the given secrets (AccessKey id, secret, STS token) from a text,
 * e.g. an SDK message that quotes a credential. Short strings are not redacted (they would
 * mangle unrelated text and are no credential).
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s === undefined || s.length < 6) continue;
    out = out.split(s).join('***');
  }
  return out;
}
