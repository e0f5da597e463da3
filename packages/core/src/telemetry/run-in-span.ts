// Runs work inside a span and closes it the same way everywhere: a thrown error becomes the
// span's `error.type` and ERROR status, then the span ends.
import { type Context, context, type Span, SpanStatusCode } from '@opentelemetry/api';
import { describeError } from '../errors.js';

/** Marks a span failed with the conventions' `error.type` (the error class name). */
export function recordFailure(span: Span, errorType: string, message: string): void {
  span.setAttribute('error.type', errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Runs `fn` (in `active` when given), records a thrown error on `span`, ends it, and tells
 * `onEnd` the error type (undefined on success) before the result or error is passed on.
 */
export async function runInSpan<T>(
  span: Span,
  active: Context | undefined,
  fn: () => T | Promise<T>,
  onEnd?: (errorType: string | undefined) => void,
): Promise<T> {
  let errorType: string | undefined;
  try {
    return await (active === undefined ? fn() : context.with(active, fn));
  } catch (error) {
    const described = describeError(error);
    errorType = described.type;
    recordFailure(span, errorType, described.message);
    throw error;
  } finally {
    span.end();
    onEnd?.(errorType);
  }
}
