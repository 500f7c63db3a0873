import { randomBytes } from 'node:crypto'

export const CALL_ID_PATTERN = '^call-[0-9]{8}-[0-9a-f]{12,}$'

/** `call-YYYYMMDD-` (UTC date of `now`) + 16 hex; `random` is injectable for tests. */
export function newCallId (now: number, random: (size: number) => Buffer = randomBytes): string {
  const date = new Date(now).toISOString().slice(0, 10).replaceAll('-', '')
  return `call-${date}-${random(8).toString('hex')}`
}
