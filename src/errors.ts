/**
 * The error classes every seam builds on. The CLI sorts errors once, at the top, by these
 * classes: a UserError is the user's to fix (exit 1), a UsageError is a bad command line (exit 2),
 * anything else is a bug (exit 70, with a hint to report it).
 */

/** An error the user can fix: bad input, a missing file, a refused credential. */
export class UserError extends Error {
  override name = 'UserError';
}

/** A malformed command line; `usage` is shown after the message. */
export class UsageError extends UserError {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

/** A broken invariant inside sealer itself. */
export class InternalError extends Error {
  override name = 'InternalError';
}

/** Joins an error and its causes as "outer: inner: innermost", the way the CLI prints it. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 10; depth++) {
    if (cur instanceof Error) {
      if (cur instanceof AggregateError && cur.errors.length > 0) {
        parts.push(cur.message || 'several errors');
        parts.push(cur.errors.map((e) => describeError(e)).join('; '));
        break;
      }
      parts.push(cur.message);
      cur = cur.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.filter((p) => p.length > 0).join(': ');
}

/** Wraps `err` with a gerund phrase of context ("reading Kubefile"), keeping its class's intent. */
export function withContext(context: string, err: unknown): Error {
  const Ctor = err instanceof UserError ? UserError : Error;
  return new Ctor(context, { cause: err });
}
