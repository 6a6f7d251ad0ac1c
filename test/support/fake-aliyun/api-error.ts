import { randomUUID } from 'node:crypto';

/** An error answer of the API: HTTP status and Alibaba's `Code`/`Message`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A request id as Alibaba prints them: an upper-case UUID. */
export function newRequestId(): string {
  return randomUUID().toUpperCase();
}

/** The error for a parameter the action needs. */
export function missingParameter(name: string): ApiError {
  return new ApiError(400, 'MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
}
