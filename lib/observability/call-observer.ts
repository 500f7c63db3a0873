import type { Logger } from 'pino'
import type { CallSession } from '../calls/session'
import type { CallDoor } from '../calls/request-bodies'
import type { NodeMetrics } from './metrics'

/**
 * What the call service tells the outside about calls, once the change is stored
 * and its messages are published. Implementations never throw.
 */
export interface CallObserver {
  /** A call was created and its invites published, `setupMs` after the request arrived. */
  started (session: CallSession, door: CallDoor, setupMs: number): void
  /** A stored change of a call; a transition when `next.seq` is above `previous.seq`. */
  transitioned (previous: CallSession, next: CallSession): void
}

export interface CallObserverOptions {
  logger: Logger
  /** Omitted when metrics are off. */
  metrics?: NodeMetrics
}

/** One `info` line per transition, a door-audit line per `unlock`, and the call metrics. */
export function createCallObserver (options: CallObserverOptions): CallObserver {
  const { logger, metrics } = options

  function logSteps (session: CallSession, afterSeq: number): void {
    for (const step of session.history) {
      if (step.seq <= afterSeq) continue
      logger.info({ call_id: session.call_id, action: step.action, actor: step.actor, status: session.status, seq: step.seq, reason: step.reason }, 'call transition')
      if (step.action === 'unlock') {
        logger.info({ audit: 'door', call_id: session.call_id, device_id: session.device_device_id, actor: step.actor, seq: step.seq }, `door ${session.device_device_id} unlocked by ${step.actor}`)
      }
    }
  }

  return {
    started (session, door, setupMs) {
      logSteps(session, 0)
      metrics?.callsStarted.inc({ provider: session.provider, door })
      metrics?.callSetupSeconds.observe(setupMs / 1000)
    },
    transitioned (previous, next) {
      if (next.seq <= previous.seq) return
      logSteps(next, previous.seq)
      if (metrics === undefined) return
      if (previous.answer_time === null && next.answer_time !== null) {
        metrics.callAnswerSeconds.observe((next.answer_time - next.start_time) / 1000)
      }
      if (previous.status !== 'ended' && next.status === 'ended' && next.end_reason !== null) {
        metrics.callsEnded.inc({ end_reason: next.end_reason })
      }
    }
  }
}
