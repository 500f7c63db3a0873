import { IntercomError } from '../errors'
import { TIMERS, type CallSession, type TimerName } from '../calls/session'
import { indexesOf, matchesResidual, planListing, positionOf, type CallListPage, type CallListQuery, type CallPosition } from '../records/listing'
import { LIST_SCAN_LIMIT, type CallStore, type DueTimer } from './call-store'
import { CallPositions } from './memory-call-index'

export interface MemoryCallStoreOptions {
  /** How long an ended call stays readable. */
  retentionMs: number
  /** At most this many ended calls are kept; past it the oldest ended go first. Active calls are never dropped. */
  maxEndedCalls?: number
  /** Likewise for the ended calls' size, measured as their JSON length. */
  maxEndedBytes?: number
  /** Index entries one listing page may examine. */
  scanLimit?: number
  now?: () => number
}

/** A single-process CallStore: each method runs without awaiting, so it is atomic. */
export class MemoryCallStore implements CallStore {
  readonly #retentionMs: number
  readonly #maxEndedCalls: number
  readonly #maxEndedBytes: number
  readonly #scanLimit: number
  readonly #now: () => number
  readonly #calls = new Map<string, CallSession>()
  /** Ended calls → expiry; insertion order is expiry order, as retention is fixed, and the order to drop them in. */
  readonly #expiries = new Map<string, number>()
  /** Ended calls → their JSON length, and the sum of those. */
  readonly #endedBytes = new Map<string, number>()
  #endedBytesTotal = 0
  readonly #indexes = new Map<string, CallPositions>()
  readonly #deviceCalls = new Map<string, string>()
  /** `device\nrequest_id` → call id; dropped with the call. */
  readonly #requests = new Map<string, string>()
  readonly #residentCalls = new Map<string, Set<string>>()
  readonly #ringingCalls = new Map<string, Set<string>>()
  readonly #timers = new Map<string, Map<TimerName, number>>()

  constructor (options: MemoryCallStoreOptions) {
    this.#retentionMs = options.retentionMs
    this.#maxEndedCalls = options.maxEndedCalls ?? Number.POSITIVE_INFINITY
    this.#maxEndedBytes = options.maxEndedBytes ?? Number.POSITIVE_INFINITY
    this.#scanLimit = options.scanLimit ?? LIST_SCAN_LIMIT
    this.#now = options.now ?? Date.now
  }

  async create (session: CallSession): Promise<string | null> {
    this.#sweep()
    const retried = session.request_id === undefined ? undefined : this.#requests.get(requestKey(session.device_device_id, session.request_id))
    if (retried !== undefined) return retried
    const active = this.#deviceCalls.get(session.device_device_id)
    if (active !== undefined) {
      throw new IntercomError('device_busy', `Device ${session.device_device_id} is already in call ${active}: end it first.`)
    }
    this.#write(null, session)
    if (session.request_id !== undefined) this.#requests.set(requestKey(session.device_device_id, session.request_id), session.call_id)
    return null
  }

  async callOfRequest (deviceId: string, requestId: string): Promise<string | null> {
    this.#sweep()
    return this.#requests.get(requestKey(deviceId, requestId)) ?? null
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

  async list (query: CallListQuery): Promise<CallListPage> {
    this.#sweep()
    const { index, residual } = planListing(query)
    const sessions: CallSession[] = []
    let examined = 0
    let last: CallPosition | null = null
    for (const position of this.#indexes.get(index)?.newestFirst(query.after, query.until) ?? []) {
      if (query.since !== undefined && position.startTime < query.since) break
      if (examined === this.#scanLimit) return { sessions, next: last }
      examined++
      const session = this.#calls.get(position.callId) as CallSession
      if (matchesResidual(session, residual)) {
        if (sessions.length === query.limit) return { sessions, next: positionOf(sessions[sessions.length - 1] as CallSession) }
        sessions.push(structuredClone(session))
      }
      last = position
    }
    return { sessions, next: null }
  }

  async close (): Promise<void> {
    this.#calls.clear()
    this.#expiries.clear()
    this.#endedBytes.clear()
    this.#endedBytesTotal = 0
    this.#indexes.clear()
    this.#deviceCalls.clear()
    this.#requests.clear()
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

    this.#reindex(prev, next)
    if (next.status === 'ended') {
      if (!this.#expiries.has(id)) this.#expiries.set(id, this.#now() + this.#retentionMs)
      this.#countEnded(next)
      this.#bound()
    }
  }

  #reindex (prev: CallSession | null, next: CallSession): void {
    const was = new Set(prev === null ? [] : indexesOf(prev))
    const is = new Set(indexesOf(next))
    const position = positionOf(next)
    for (const name of was) if (!is.has(name)) this.#unindex(name, position)
    for (const name of is) {
      if (was.has(name)) continue
      let index = this.#indexes.get(name)
      if (index === undefined) this.#indexes.set(name, index = new CallPositions())
      index.add(position)
    }
  }

  #unindex (name: string, position: CallPosition): void {
    const index = this.#indexes.get(name)
    index?.remove(position)
    if (index?.size === 0) this.#indexes.delete(name)
  }

  #countEnded (session: CallSession): void {
    const bytes = JSON.stringify(session).length
    this.#endedBytesTotal += bytes - (this.#endedBytes.get(session.call_id) ?? 0)
    this.#endedBytes.set(session.call_id, bytes)
  }

  /** Drops the oldest ended calls while the ended ones exceed either bound. */
  #bound (): void {
    for (const id of this.#expiries.keys()) {
      if (this.#expiries.size <= this.#maxEndedCalls && this.#endedBytesTotal <= this.#maxEndedBytes) return
      this.#drop(id)
    }
  }

  /** Forgets an ended call: it is in no timer or device index any more, only in the listing ones. */
  #drop (id: string): void {
    const session = this.#calls.get(id)
    this.#expiries.delete(id)
    this.#endedBytesTotal -= this.#endedBytes.get(id) ?? 0
    this.#endedBytes.delete(id)
    this.#calls.delete(id)
    if (session === undefined) return
    if (session.request_id !== undefined) this.#requests.delete(requestKey(session.device_device_id, session.request_id))
    const position = positionOf(session)
    for (const name of indexesOf(session)) this.#unindex(name, position)
  }

  /** Drops ended calls past retention. */
  #sweep (): void {
    const now = this.#now()
    for (const [id, expiry] of this.#expiries) {
      if (expiry > now) break
      this.#drop(id)
    }
  }
}

/** Device ids have no newline, so the pair is unambiguous. */
const requestKey = (deviceId: string, requestId: string): string => `${deviceId}\n${requestId}`

function ringingResidents (s: CallSession): string[] {
  return s.status === 'ended' ? [] : s.legs.filter(l => l.state === 'ringing').map(l => l.resident_id)
}

function leave (index: Map<string, Set<string>>, residentId: string, callId: string): void {
  const calls = index.get(residentId)
  calls?.delete(callId)
  if (calls?.size === 0) index.delete(residentId)
}
