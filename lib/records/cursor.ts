import { IntercomError } from '../errors'
import type { CallPosition } from './listing'

/**
 * The opaque `cursor` of a call listing: base64url of `<start_time>.<call_id>`,
 * the last call of the page. A position, not an offset, so calls stored
 * between two pages neither repeat nor skip an item.
 */

const CURSOR_RE = /^(\d{1,16})\.([A-Za-z0-9_-]{1,128})$/

export function encodeCursor (position: CallPosition): string {
  return Buffer.from(`${position.startTime}.${position.callId}`).toString('base64url')
}

export function decodeCursor (cursor: string): CallPosition {
  const match = CURSOR_RE.exec(Buffer.from(cursor, 'base64url').toString('latin1'))
  const startTime = Number(match?.[1])
  if (match === null || !Number.isSafeInteger(startTime)) {
    throw new IntercomError('invalid_request', 'cursor is not one this server gave; pass next_cursor from the previous page, or leave it out to start again')
  }
  return { startTime, callId: match[2] as string }
}
