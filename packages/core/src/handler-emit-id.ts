// Ids of the messages a handler emits, derived from what it handled: a redelivered message's
// handler emits the same ids again, so a flush that failed part-way and ran again re-sends ids
// that downstream message-id dedupe recognises (random ids would look like new messages); the
// same for outbox writes in a transaction that committed although the handler saw it fail.
import { createHash } from 'node:crypto';

/**
 * The id of the `position`-th message (0-based, in call order) published or sent by the handler
 * of `subscription` for the incoming message `source`/`id`: a UUIDv8 (RFC 9562) from SHA-256 over
 * `["eda.emit/1", source, id, subscription, position]`. Same inputs, same id; any difference in
 * one of them gives another id (the JSON array keeps the parts apart).
 */
export function handlerEmitId(
  source: string,
  id: string,
  subscription: string,
  position: number,
): string {
  const bytes = createHash('sha256')
    .update(JSON.stringify(['eda.emit/1', source, id, subscription, position]))
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8: custom
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
