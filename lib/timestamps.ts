import { Type } from 'typebox'

/**
 * The latest moment a client may name: the last millisecond of year 9999. Beyond it a
 * number is no date (`1e300`), or loses precision past 2^53 and would be stored rounded.
 */
export const LATEST_TIMESTAMP_MS = 253_402_300_799_999

/** A client's own timestamp in ms since epoch, bounded to a real date. */
export function clientTimestamp (description: string) {
  return Type.Integer({ minimum: 0, maximum: LATEST_TIMESTAMP_MS, description })
}
