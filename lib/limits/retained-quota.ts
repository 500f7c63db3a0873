/** Bounds of what clients may leave retained on the broker. */
export interface RetainedLimits {
  /** Bytes of one retained payload. */
  maxBytes: number
  /** Retained topics one identity holds. */
  maxPerIdentity: number
  /** Retained topics all clients hold together. */
  maxTotal: number
}

/** What the store knows when a retained publish arrives. */
export interface RetainedState {
  /** Identity that left the message now retained on the topic, if a client did. */
  owner: string | null
  /** Retained topics the publishing identity holds. */
  held: number
  /** Retained topics held by all clients. */
  total: number
}

export type RetainedVerdict =
  /** Empty payload: the topic's retained message goes and its slot is freed. */
  | { verdict: 'clear' }
  /** Stored; `taken` when the topic becomes the publisher's (new, or taken from another identity). */
  | { verdict: 'store', taken: boolean }
  | { verdict: 'refuse', reason: string }

/** A payload past the size bound is refused before any count is looked up. */
export function retainedSizeRefusal (bytes: number, limits: RetainedLimits): string | null {
  return bytes > limits.maxBytes ? `a retained payload has at most ${limits.maxBytes} bytes (got ${bytes})` : null
}

/**
 * Whether a client's retained publish of `bytes` may be kept. Replacing one's
 * own retained message costs nothing; a new topic, or one retained by another
 * identity, takes a slot of the publisher's.
 */
export function decideRetained (identity: string, bytes: number, state: RetainedState, limits: RetainedLimits): RetainedVerdict {
  if (bytes === 0) return { verdict: 'clear' }
  const tooLarge = retainedSizeRefusal(bytes, limits)
  if (tooLarge !== null) return { verdict: 'refuse', reason: tooLarge }
  if (state.owner === identity) return { verdict: 'store', taken: false }
  if (state.held >= limits.maxPerIdentity) return { verdict: 'refuse', reason: `${identity} already holds ${limits.maxPerIdentity} retained topics; clear one with an empty retained publish` }
  if (state.owner === null && state.total >= limits.maxTotal) return { verdict: 'refuse', reason: `the broker already holds ${limits.maxTotal} retained topics of clients` }
  return { verdict: 'store', taken: true }
}

/** Counts clients' retained topics by owner; a node's own, or shared by a cluster. */
export interface RetainedQuota {
  /** Decides a retained publish and, unless refused, counts it at once (check and count are one step). */
  claim (identity: string, topic: string, bytes: number): Promise<RetainedVerdict>
  close (): Promise<void>
}

/** One node's count, for a node whose retained messages live in its own memory. */
export function createMemoryRetainedQuota (limits: RetainedLimits): RetainedQuota {
  const owners = new Map<string, string>()
  const held = new Map<string, number>()
  const release = (owner: string): void => {
    const left = (held.get(owner) ?? 1) - 1
    if (left > 0) held.set(owner, left)
    else held.delete(owner)
  }
  return {
    async claim (identity, topic, bytes) {
      const owner = owners.get(topic) ?? null
      const verdict = decideRetained(identity, bytes, { owner, held: held.get(identity) ?? 0, total: owners.size }, limits)
      if (verdict.verdict === 'clear' && owner !== null) {
        owners.delete(topic)
        release(owner)
      } else if (verdict.verdict === 'store' && verdict.taken) {
        if (owner !== null) release(owner)
        owners.set(topic, identity)
        held.set(identity, (held.get(identity) ?? 0) + 1)
      }
      return verdict
    },
    async close () {}
  }
}
