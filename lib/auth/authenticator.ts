import type { Logger } from 'pino'
import { checkAgainstDummyHash } from '../directory/secrets'
import type { Identity } from '../identity'
import { createFairGate, GateAbandonedError, GateFullError, type FairGate } from './fair-gate'
import type { SignInThrottle, ThrottleRule } from './sign-in-throttle'
import type { TokenVerifier } from './tokens'

export type Transport = 'mqtt' | 'ws' | 'http'

export interface SignInAttempt {
  /** The identity name; absent for an HTTP bearer token, which names its identity itself. */
  username?: string
  /** The secret, service token or other credential: never logged. */
  credential: string
  transport: Transport
  /** The source address of the connection. */
  address: string
  /** Aborts when the connection closes: a check still waiting for its turn is then dropped unrun. */
  signal?: AbortSignal
}

export type SignInResult =
  /** `expiresAt` (ms): the sign-in was a token, whose connection must close then. */
  | { ok: true, identity: Identity, expiresAt?: number }
  | {
    ok: false
    /** `bad_credentials`: wrong name or secret. `throttled`: too many failures, retry after `retryAfterMs`. `busy`: too many sign-ins in progress. */
    reason: 'bad_credentials' | 'throttled' | 'busy'
    retryAfterMs: number
    message: string
  }

/** What the authenticator asks of the directory. */
export interface CredentialChecker {
  has (name: string): boolean
  authenticate (name: string, secret: string): Promise<Identity | null>
  authenticateToken (token: string): Promise<Identity | null>
}

export interface SignInLimits {
  /** Failed sign-ins per identity name in a window before the name is throttled. */
  failuresPerIdentity: number
  /** Failed sign-ins per source address in a window before the address is throttled. */
  failuresPerAddress: number
  /** Credential checks (each up to one scrypt) running at once. */
  concurrentChecks: number
  /** Credential checks waiting for a place, in all. */
  maxWaitingChecks: number
  /** Credential checks waiting for a place, per source address. */
  maxWaitingChecksPerAddress: number
}

export interface AuthenticatorOptions {
  directory: CredentialChecker
  /** Sign-in tokens (JWT), when configured: a credential shaped like one is checked as a token only. */
  tokens?: TokenVerifier | null
  throttle: SignInThrottle
  limits: SignInLimits
  logger: Logger
}

export interface Authenticator {
  authenticate (attempt: SignInAttempt): Promise<SignInResult>
  /** What sign-ins cost so far; for metrics and tests. */
  readonly counters: Readonly<{ succeeded: number, refused: number, throttled: number, busy: number, abandoned: number, dummyHashes: number }>
}

/** Busy answers ask for a retry after this long. */
const BUSY_RETRY_MS = 1000
/** Longer names are no identity; counting them whole would let one name fill memory. */
const MAX_NAME_KEY = 128

/** `::ffff:10.0.0.1` and `10.0.0.1` are one address. */
export function normaliseAddress (address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown'
  return address.startsWith('::ffff:') ? address.slice(7) : address
}

/**
 * Every sign-in goes through here, whatever the door (MQTT, WebSocket, HTTP):
 * failures are throttled per identity name and per source address, a throttled
 * attempt is refused before any hashing, an unknown name costs one scrypt like
 * a wrong secret, credential checks share a small fair pool, and every refusal
 * is logged without its credential.
 */
export function createAuthenticator (options: AuthenticatorOptions): Authenticator {
  const { directory, throttle, limits, logger } = options
  const gate: FairGate = createFairGate({
    concurrency: limits.concurrentChecks,
    maxWaiting: limits.maxWaitingChecks,
    maxWaitingPerKey: limits.maxWaitingChecksPerAddress
  })
  const counters = { succeeded: 0, refused: 0, throttled: 0, busy: 0, abandoned: 0, dummyHashes: 0 }

  const tokens = options.tokens ?? null
  const identified = (identity: Identity | null): { identity: Identity } | null => identity === null ? null : { identity }

  const check = async (username: string | undefined, credential: string): Promise<{ identity: Identity, expiresAt?: number } | null> => {
    if (tokens !== null && tokens.looksLikeToken(credential)) {
      const signed = await tokens.verify(credential)
      // Over MQTT the username must be the token's own subject.
      return signed !== null && (username === undefined || signed.identity.name === username) ? signed : null
    }
    if (username === undefined) return identified(await directory.authenticateToken(credential))
    if (directory.has(username)) return identified(await directory.authenticate(username, credential))
    counters.dummyHashes++
    await checkAgainstDummyHash(credential)
    return null
  }

  return {
    counters,
    async authenticate (attempt) {
      const address = normaliseAddress(attempt.address)
      const nameKey = attempt.username === undefined ? undefined : `name:${attempt.username.slice(0, MAX_NAME_KEY)}`
      const rules: ThrottleRule[] = [{ key: `addr:${address}`, limit: limits.failuresPerAddress }]
      if (nameKey !== undefined) rules.push({ key: nameKey, limit: limits.failuresPerIdentity })
      const who = { username: attempt.username, transport: attempt.transport, address }

      const wait = await throttle.waitFor(rules)
      if (wait > 0) {
        counters.throttled++
        // Only the first refusal of a window is a warning: a flood must not flood the log too.
        logger.debug(who, 'sign-in refused: throttled')
        return { ok: false, reason: 'throttled', retryAfterMs: wait, message: `too many failed sign-ins; retry in ${Math.ceil(wait / 1000)} s` }
      }
      let signedIn: { identity: Identity, expiresAt?: number } | null
      try {
        signedIn = await gate.run(address, () => check(attempt.username, attempt.credential), attempt.signal)
      } catch (err) {
        if (err instanceof GateAbandonedError) {
          counters.abandoned++
          logger.debug(who, 'sign-in dropped: its connection closed while it waited')
          return { ok: false, reason: 'busy', retryAfterMs: BUSY_RETRY_MS, message: 'the connection closed before its sign-in was checked' }
        }
        if (!(err instanceof GateFullError)) throw err
        counters.busy++
        logger.warn(who, 'sign-in refused: too many sign-ins in progress')
        return { ok: false, reason: 'busy', retryAfterMs: BUSY_RETRY_MS, message: 'too many sign-ins in progress; retry in a second' }
      }
      if (signedIn !== null) {
        counters.succeeded++
        if (nameKey !== undefined) await throttle.forget(nameKey)
        return { ok: true, ...signedIn }
      }
      counters.refused++
      const throttledFor = await throttle.fail(rules)
      logger.warn({ ...who, ...(throttledFor > 0 ? { throttledForMs: throttledFor } : {}) },
        throttledFor > 0 ? 'sign-in refused: bad identity name or secret; throttled' : 'sign-in refused: bad identity name or secret')
      return { ok: false, reason: 'bad_credentials', retryAfterMs: 0, message: 'bad identity name or secret' }
    }
  }
}
