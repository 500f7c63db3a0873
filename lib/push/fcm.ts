import { createPrivateKey, sign, type KeyObject } from 'node:crypto'
import { outcomeOfStatus, type PushChannel, type PushOutcome } from './channel'

/** The fields of a Google service-account key file that the token exchange needs. */
export interface ServiceAccount {
  project_id: string
  client_email: string
  private_key: string
  token_uri?: string
}

export interface FcmOptions {
  account: ServiceAccount
  /** `https://fcm.googleapis.com` in production. */
  endpoint: string
  /** The OAuth2 token endpoint; the account's `token_uri` when absent. */
  tokenUri?: string
  timeoutMs: number
  now?: () => number
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging'
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token'
/** An access token is renewed this long before it expires. */
const RENEW_MARGIN_MS = 60_000

/** The RS256 JWT assertion of RFC 7523 that a service account trades for an access token. */
export function serviceAccountAssertion (key: KeyObject, account: ServiceAccount, audience: string, now: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const iat = Math.floor(now / 1000)
  const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: account.client_email, scope: SCOPE, aud: audience, iat, exp: iat + 3600 })}`
  return `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`
}

/** FCM error statuses that mean the registration token is dead. */
function isGone (status: number, body: string): boolean {
  return status === 404 || (status === 400 && body.includes('UNREGISTERED')) || body.includes('"UNREGISTERED"')
}

/**
 * FCM HTTP v1: a high-priority data message per push, its TTL the time left to
 * expiry, the call as collapse key. The bearer comes from the OAuth2 exchange of a
 * service-account assertion, cached until shortly before it expires.
 */
export function createFcmChannel (options: FcmOptions): PushChannel {
  const now = options.now ?? Date.now
  const key = createPrivateKey(options.account.private_key)
  const tokenUri = options.tokenUri ?? options.account.token_uri ?? DEFAULT_TOKEN_URI
  const sendUrl = `${options.endpoint.replace(/\/$/, '')}/v1/projects/${encodeURIComponent(options.account.project_id)}/messages:send`
  let access: { token: string, until: number } | null = null
  let exchanging: Promise<string> | null = null

  async function exchange (): Promise<string> {
    const response = await fetch(tokenUri, {
      method: 'POST',
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: serviceAccountAssertion(key, options.account, tokenUri, now()) })
    })
    if (!response.ok) {
      await response.body?.cancel()
      throw new Error(`OAuth2 token exchange answered HTTP ${response.status}`)
    }
    const body = await response.json() as { access_token?: string, expires_in?: number }
    if (typeof body.access_token !== 'string') throw new Error('OAuth2 token exchange returned no access_token')
    access = { token: body.access_token, until: now() + (body.expires_in ?? 3600) * 1000 - RENEW_MARGIN_MS }
    return body.access_token
  }

  function bearer (fresh: boolean): Promise<string> {
    if (!fresh && access !== null && now() < access.until) return Promise.resolve(access.token)
    exchanging ??= exchange().finally(() => { exchanging = null })
    return exchanging
  }

  async function post (token: string, body: string): Promise<{ status: number, text: string }> {
    const response = await fetch(sendUrl, {
      method: 'POST',
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body
    })
    return { status: response.status, text: (await response.text()).slice(0, 4096) }
  }

  return {
    kind: 'fcm',
    async send (subscription, delivery) {
      if (subscription.kind !== 'fcm') return { status: 'failed', detail: `not an fcm subscription: ${subscription.kind}` }
      const ttlSeconds = Math.max(0, Math.ceil((delivery.expiresAt - now()) / 1000))
      // FCM data values are strings.
      const data = Object.fromEntries(Object.entries(delivery.payload).map(([k, v]) => [k, v === null ? '' : String(v)]))
      const body = JSON.stringify({
        message: {
          token: subscription.token,
          data,
          android: { priority: 'HIGH', ttl: `${ttlSeconds}s`, collapse_key: delivery.topic }
        }
      })
      try {
        let answer = await post(await bearer(false), body)
        // The access token was revoked or expired early: exchange once more.
        if (answer.status === 401) answer = await post(await bearer(true), body)
        return outcomeOfFcm(answer.status, answer.text)
      } catch (err) {
        return { status: 'retry', detail: (err as Error).message }
      }
    }
  }
}

function outcomeOfFcm (status: number, text: string): PushOutcome {
  if (status >= 200 && status < 300) return { status: 'accepted' }
  if (isGone(status, text)) return { status: 'gone', detail: `HTTP ${status} UNREGISTERED` }
  return outcomeOfStatus(status)
}
