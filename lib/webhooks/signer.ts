import { createHmac } from 'node:crypto'

/**
 * `X-Intercom-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * The time is inside the signed text, so a receiver can refuse old replays.
 */
export function signatureHeader (secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')
  return `t=${unixSeconds},v1=${mac}`
}
