import { IntercomError } from '../errors'
import { TIMERS, type CallSession, type TimerName } from '../calls/session'
import type { CallStore, DueTimer } from './call-store'

export interface MemoryCallStoreOptions {
  /** How long an ended call stays readable. */
  retentionMs: number
  now?: () => number
}

/** A single-process CallStore: each method runs without awaiting, so it is atomic. */
export class MemoryCallStore implements CallStore {
  readonly #retentionMs: number
  readonly #now: () => number
  readonly #calls = new Map<string, CallSession>()
  /** Ended calls → expiry; insertion order is expiry order, as retention is fixed. */
  readonly #expiries = new Map<string, number>()
  readonly #deviceCalls = new Map<string, string>()
  readonly #residentCalls = new Map<string, Set<string>>()
  readonly #ringingCalls = new Map<string, Set<string>>()
  readonly #timers = new Map<string, Map<TimerName, number>>()

  constructor (options: MemoryCallStoreOptions) {
    this.#retentionMs = options.retentionMs
    this.#now = options.now ?? Date.now
  }

  async create (session: CallSession): Promise<void> {
    this.#sweep()
    const active = this.#deviceCalls.get(session.device_device_id)
    if (active !== undefined) {
      throw new IntercomError('device_busy', `Device ${session.device_device_id} is already in call ${active}: end it first.`)
    }
    this.#write(null, session)
  }

  async get (callId: string): Promise<CallSession | null> {
    this.#sweep()
    const session = this.#calls.get(callId)
    return session === undefined ? null : structuredClone(session)
  }

  async compareAndSet (next: CallSession, expectedVersion: number): Promise<boolean> {
    if (next.version !== expectedVersion + 1) {
      throw new IntercomError('internal', `Call ${next.call_id}: a write must carry version ${expectedVersion + 1}, not ${next.version}.`)
    }
    this.#sweep()
    const stored = this.#calls.get(next.call_id)
    if (stored === undefined || stored.version !== expectedVersion) return false
    this.#write(stored, next)
    return true
  }

  async activeCallOfDevice (deviceId: string): Promise<string | null> {
    return this.#deviceCalls.get(deviceId) ?? null
  }

  async connectedResidents (residentIds: string[]): Promise<Set<string>> {
    return new Set(residentIds.filter(r => (this.#residentCalls.get(r)?.size ?? 0) > 0))
  }

  async ringingCallsOfResident (residentId: string): Promise<string[]> {
    return [...this.#ringingCalls.get(residentId) ?? []]
  }

  async claimDueTimers (now: number, leaseMs: number, limit: number): Promise<DueTimer[]> {
    const due: Array<DueTimer & { score: number }> = []
    for (const [callId, timers] of this.#timers) {
      for (const [timer, score] of timers) {
        if (score <= now) due.push({ callId, timer, score })
      }
    }
    due.sort((a, b) => a.score - b.score)
    return due.slice(0, limit).map(({ callId, timer }) => {
      this.#timers.get(callId)?.set(timer, now + leaseMs)
      return { callId, timer }
    })
  }

  async nextDeadline (): Promise<number | null> {
    let next: number | null = null
    for (const timers of this.#timers.values()) {
      for (const score of timers.values()) {
        if (next === null || score < next) next = score
      }
    }
    return next
  }

  async close (): Promise<void> {
    this.#calls.clear()
    this.#expiries.clear()
    this.#deviceCalls.clear()
    this.#residentCalls.clear()
    this.#ringingCalls.clear()
    this.#timers.clear()
  }

  /** Stores `next` and brings every index in line with it. */
  #write (prev: CallSession | null, next: CallSession): void {
    const id = next.call_id
    this.#calls.set(id, structuredClone(next))

    if (next.status !== 'ended') this.#deviceCalls.set(next.device_device_id, id)
    else if (this.#deviceCalls.get(next.device_device_id) === id) this.#deviceCalls.delete(next.device_device_id)

    const wasIn = prev?.status === 'connected' ? prev.resident_id : null
    const isIn = next.status === 'connected' ? next.resident_id : null
    if (wasIn !== null && wasIn !== isIn) leave(this.#residentCalls, wasIn, id)
    if (isIn !== null) this.#residentCalls.set(isIn, (this.#residentCalls.get(isIn) ?? new Set()).add(id))

    const isRinging = new Set(ringingResidents(next))
    for (const r of prev === null ? [] : ringingResidents(prev)) {
      if (!isRinging.has(r)) leave(this.#ringingCalls, r, id)
    }
    for (const r of isRinging) this.#ringingCalls.set(r, (this.#ringingCalls.get(r) ?? new Set()).add(id))

    const timers = this.#timers.get(id) ?? new Map<TimerName, number>()
    for (const timer of TIMERS) {
      const deadline = next.deadlines[timer]
      if (prev !== null && prev.deadlines[timer] === deadline) continue
      if (deadline === null) timers.delete(timer)
      else timers.set(timer, deadline)
    }
    if (timers.size > 0) this.#timers.set(id, timers)
    else this.#timers.delete(id)

    if (next.status === 'ended' && !this.#expiries.has(id)) this.#expiries.set(id, this.#now() + this.#retentionMs)
  }

  /** Drops ended calls past retention; they are in no index any more. */
  #sweep (): void {
    const now = this.#now()
    for (const [id, expiry] of this.#expiries) {
      if (expiry > now) break
      this.#expiries.delete(id)
      this.#calls.delete(id)
    }
  }
}

function ringingResidents (s: CallSession): string[] {
  return s.status === 'ended' ? [] : s.legs.filter(l => l.state === 'ringing').map(l => l.resident_id)
}

function leave (index: Map<string, Set<string>>, residentId: string, callId: string): void {
  const calls = index.get(residentId)
  calls?.delete(callId)
  if (calls?.size === 0) index.delete(residentId)
}
