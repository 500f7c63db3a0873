import type { Logger } from 'pino'
import type { Publisher } from '../broker/publisher'
import type { PushChannel, PushDelivery } from './channel'
import { pushCueOf, topicOf, type PushCue } from './payloads'
import type { PushStore } from './push-store'
import type { ResidentConnections } from './resident-connections'
import type { Subscription } from './subscriptions'

/** A push that failed for good: the subscription is gone, refused it, or the push expired. */
export interface PushFailure {
  call_id: string
  resident_id: string
  subscription_id: string
  kind: Subscription['kind']
  push_type: 'call.incoming' | 'call.cancelled'
  reason: string
}

/** What one push attempt came to: accepted, to be retried, the subscription gone, or failed for good. */
export type PushResult = 'accepted' | 'retried' | 'gone' | 'failed'

/** Where the dispatcher reports what it does; the node's metrics. */
export interface PushReport {
  attempt (channel: Subscription['kind'], result: PushResult): void
  /** A push not sent: the resident had an open connection, or the queue was full. */
  skipped (reason: 'online' | 'queue_full'): void
}

const SILENT: PushReport = { attempt: () => {}, skipped: () => {} }

export interface PushDispatcherOptions {
  publisher: Publisher
  store: PushStore
  connections: ResidentConnections
  channels: PushChannel[]
  logger: Logger
  /** Pushes waiting (queued or between retries) on this node at most. */
  maxQueue: number
  /** Pushes sent at once by this node. */
  concurrency: number
  /** Wait before the first retry of a transient failure; doubled each time. */
  retryBaseMs: number
  onFailed?: (failure: PushFailure) => void
  /** A push service accepted an invite for this resident (the first of its subscriptions, and any after). */
  onInvitePushed?: (callId: string, residentId: string) => void
  report?: PushReport
  now?: () => number
}

export interface PushDispatcher {
  /** Pushes waiting on this node: queued, being sent, or between retries. */
  readonly depth: number
  close (): Promise<void>
}

/** A cancellation matters for this long: the phone may still be ringing from a late invite. */
const CANCEL_TTL_MS = 60_000
const MAX_RETRY_DELAY_MS = 30_000
/** Longest run of push starts between two looks at the node's other I/O. */
const SLICE_MS = 1

interface Job {
  subscription: Subscription
  delivery: PushDelivery
  attempts: number
}

/**
 * Pushes for sleeping apps, as a consumer of the server's publishes: an invite
 * to a resident without an open connection goes to each of its subscriptions;
 * when that resident's ring stops without it acting, the subscriptions that got
 * the invite are told. Everything is queued: the call never waits for a push.
 */
export function startPushDispatcher (options: PushDispatcherOptions): PushDispatcher {
  const { store, connections, logger } = options
  const now = options.now ?? Date.now
  const channels = new Map(options.channels.map((c) => [c.kind, c]))
  const report = options.report ?? SILENT
  const queue: Job[] = []
  const retryTimers = new Set<NodeJS.Timeout>()
  const running = new Set<Promise<void>>()
  /** Per call and resident, the tail of the cues under way: an invite is recorded before its cancel is read. */
  const tails = new Map<string, Promise<void>>()
  let waiting = 0
  let closed = false
  let slice: NodeJS.Immediate | null = null

  function fail (job: Job, reason: string): void {
    const { subscription, delivery } = job
    logger.info({ subscription: subscription.subscription_id, kind: subscription.kind, type: delivery.payload.type, reason }, 'push failed for good')
    options.onFailed?.({
      call_id: delivery.payload.call_id,
      resident_id: subscription.resident_id,
      subscription_id: subscription.subscription_id,
      kind: subscription.kind,
      push_type: delivery.payload.type,
      reason
    })
  }

  async function attempt (job: Job, channel: PushChannel): Promise<void> {
    const outcome = await channel.send(job.subscription, job.delivery)
    const kind = job.subscription.kind
    switch (outcome.status) {
      case 'accepted':
        report.attempt(kind, 'accepted')
        if (job.delivery.payload.type === 'call.incoming') options.onInvitePushed?.(job.delivery.payload.call_id, job.subscription.resident_id)
        return
      case 'gone':
        report.attempt(kind, 'gone')
        await store.remove(job.subscription.subscription_id)
        fail(job, `gone (${outcome.detail}): subscription removed`)
        return
      case 'failed':
        report.attempt(kind, 'failed')
        fail(job, outcome.detail)
        return
      case 'retry': {
        const at = now() + Math.min(options.retryBaseMs * 2 ** job.attempts, MAX_RETRY_DELAY_MS)
        if (at >= job.delivery.expiresAt || closed) {
          report.attempt(kind, 'failed')
          fail(job, `expired after ${job.attempts + 1} attempts (${outcome.detail})`)
          return
        }
        report.attempt(kind, 'retried')
        waiting++
        const timer = setTimeout(() => {
          retryTimers.delete(timer)
          waiting--
          queue.push({ ...job, attempts: job.attempts + 1 })
          pump()
        }, at - now())
        retryTimers.add(timer)
      }
    }
  }

  function start (job: Job): void {
    const channel = channels.get(job.subscription.kind)
    if (channel === undefined) return
    const run = attempt(job, channel).catch((err: unknown) => {
      logger.warn({ err, subscription: job.subscription.subscription_id }, 'push attempt failed unexpectedly')
    }).finally(() => {
      running.delete(run)
      pump()
    })
    running.add(run)
  }

  /**
   * Starting a push (payload encryption, the request) runs on the event loop the
   * calls share: pushes start in slices of at most SLICE_MS, each after the I/O
   * that was waiting, so a burst of pushes never holds up a call's messages for longer.
   */
  function pump (): void {
    if (closed || slice !== null || running.size >= options.concurrency || queue.length === 0) return
    slice = setImmediate(() => {
      slice = null
      const until = performance.now() + SLICE_MS
      do start(queue.shift() as Job)
      while (running.size < options.concurrency && queue.length > 0 && performance.now() < until)
      pump()
    })
  }

  function enqueue (subscription: Subscription, delivery: PushDelivery): void {
    if (queue.length + waiting + running.size >= options.maxQueue) {
      report.skipped('queue_full')
      logger.warn({ subscription: subscription.subscription_id }, 'push queue full: push dropped')
      return
    }
    queue.push({ subscription, delivery, attempts: 0 })
    pump()
  }

  async function invite (cue: Extract<PushCue, { kind: 'invite' }>): Promise<void> {
    if (await connections.isOnline(cue.residentId)) {
      report.skipped('online')
      return
    }
    const subscriptions = (await store.list(cue.residentId)).filter((s) => channels.has(s.kind))
    if (subscriptions.length === 0) return
    await store.recordInvited(cue.push.call_id, cue.residentId, subscriptions.map((s) => s.subscription_id), cue.push.expires_at)
    const delivery: PushDelivery = { payload: cue.push, expiresAt: cue.push.expires_at, topic: topicOf(cue.push.call_id) }
    for (const subscription of subscriptions) enqueue(subscription, delivery)
  }

  async function ringOver (cue: Extract<PushCue, { kind: 'ring_over' }>): Promise<void> {
    const invited = await store.takeInvited(cue.callId, cue.residentId)
    if (cue.reason === null || invited.length === 0) return
    const delivery: PushDelivery = {
      payload: { type: 'call.cancelled', call_id: cue.callId, reason: cue.reason, seq: cue.seq },
      expiresAt: now() + CANCEL_TTL_MS,
      topic: topicOf(cue.callId)
    }
    for (const id of invited) {
      const subscription = await store.get(id)
      if (subscription !== null) enqueue(subscription, delivery)
    }
  }

  function consume (cue: PushCue): void {
    const callId = cue.kind === 'invite' ? cue.push.call_id : cue.callId
    const key = `${callId}|${cue.residentId}`
    const step = cue.kind === 'invite' ? () => invite(cue) : () => ringOver(cue)
    if (!tails.has(key) && tails.size >= options.maxQueue) {
      report.skipped('queue_full')
      logger.warn({ callId, residentId: cue.residentId }, 'push intake full: push dropped')
      return
    }
    const tail = (tails.get(key) ?? Promise.resolve()).then(step).catch((err: unknown) => {
      logger.warn({ err, callId, residentId: cue.residentId }, 'could not prepare a push')
    }).finally(() => {
      if (tails.get(key) === tail) tails.delete(key)
    })
    tails.set(key, tail)
  }

  const untap = options.publisher.onPublish((topic, message) => {
    if (closed) return
    const cue = pushCueOf(topic, message)
    if (cue !== null) consume(cue)
  })

  return {
    get depth () { return queue.length + waiting + running.size },
    async close () {
      untap()
      await Promise.all([...tails.values()])
      closed = true
      if (slice !== null) clearImmediate(slice)
      for (const timer of retryTimers) clearTimeout(timer)
      retryTimers.clear()
      await Promise.all([...running])
      await Promise.all(options.channels.map((channel) => channel.close?.()))
    }
  }
}
