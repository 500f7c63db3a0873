import type { Logger } from 'pino'
import type { Publisher } from '../broker/publisher'
import { requireRtc, requireTrtc, type CallCredentials, type Credentials } from '../credentials'
import type { DndStore } from '../dnd/dnd-store'
import type { Directory } from '../directory/directory'
import { IntercomError } from '../errors'
import { identity, type Identity } from '../identity'
import { enforceRateLimit, type RateLimiter } from '../limits/rate-limiter'
import type { CallStore } from '../stores/call-store'
import type { CallObserver } from '../observability/call-observer'
import { newCallId } from './call-id'
import { assertMayJoinMedia, assertMayRead, assertMayStart, mayJoinMedia, partyOf, type Side } from './call-rights'
import type { Effect } from './effects'
import { startCall, transition, type CallEvent, type MachineOptions } from './machine'
import { render } from './render'
import type { ActionRequest, StartRequest } from './request-bodies'
import { rejectPolicy, ringStep, ringTargets } from './ring-targets'
import { TIMERS, type CallSession, type Delivery, type Provider, type TimerName } from './session'
import { viewOf, type CallView } from './view'

export type { StartRequest } from './request-bodies'

export interface CallServiceOptions {
  store: CallStore
  publisher: Publisher
  directory: Directory
  /** Who is in do not disturb: such a target gets a `dnd` leg, no invite. */
  dnd: DndStore
  /** Whether a resident has an open MQTT connection now: its invite's `delivery` is then `online`. */
  isOnline: (residentId: string) => Promise<boolean>
  credentials: Credentials
  rateLimiter: RateLimiter
  rateLimitPerSecond: number
  timing: MachineOptions
  logger: Logger
  /** Told the earliest deadline of a session just written, so the timer loop can wake in time. */
  onDeadline?: (at: number) => void
  /**
   * Test-only seam: awaited after the machine ran on a read session and before
   * the compare-and-set write, so a test can make two requests meet between
   * read and write. Production leaves it unset.
   */
  beforeWrite?: (callId: string, event: CallEvent) => Promise<void>
  /** Told of every new call and every stored change, after its messages are published (logs, metrics). */
  observer?: CallObserver
  now?: () => number
}

/** A transition lost its compare-and-set this many times in a row: something is very wrong. */
const MAX_ATTEMPTS = 50

/**
 * The shell around the pure machine: reads and writes the store with
 * compare-and-set and publishes what the machine asks for. HTTP routes and
 * MQTT requests both come through here. Rights are in `call-rights.ts` and the
 * table, whom to ring in `ring-targets.ts`, messages in `render.ts`.
 */
export class CallService {
  readonly #options: CallServiceOptions
  readonly #now: () => number

  constructor (options: CallServiceOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** Rings the residents of a device. */
  async start (actor: Identity, request: StartRequest): Promise<CallView> {
    const arrived = performance.now()
    const { directory, store, timing } = this.#options
    const { deviceId } = request
    assertMayStart(actor, deviceId)
    await this.#limit(actor)
    if (!directory.hasDevice(deviceId)) throw new IntercomError('not_found', `no device ${deviceId} in the directory`)
    const known = request.requestId === undefined ? null : await store.callOfRequest(deviceId, request.requestId)
    if (known !== null) return this.#retried(known, request)
    this.#assertProvider(request.provider)
    const targets = [...ringTargets(directory, request)]
    const [busy, dnd, online, activeCall] = await Promise.all([
      store.connectedResidents(targets),
      this.#options.dnd.among(targets, this.#now()),
      this.#onlineAmong(targets),
      store.activeCallOfDevice(deviceId)
    ])
    const now = this.#now()
    const result = startCall({
      callId: newCallId(now),
      provider: request.provider,
      deviceId,
      targets,
      busy: targets.filter((r) => busy.has(r)),
      dnd: targets.filter((r) => dnd.has(r)),
      online,
      activeCall,
      householdNumber: request.householdNumber ?? null,
      onReject: rejectPolicy(directory, request),
      ringStepMs: ringStep(directory, request),
      ...(request.requestId === undefined ? {} : { requestId: request.requestId }),
      ...(request.timestamp === undefined ? {} : { timestamp: request.timestamp })
    }, now, timing)
    if (!result.ok) throw result.error
    // Sign every party's credentials before anything is stored: a failure here leaves no call behind.
    const session = result.session
    const signed = new Map<string, CallCredentials | null>()
    for (const party of [identity('device', deviceId), ...session.legs.filter((l) => l.state === 'ringing').map((l) => identity('resident', l.resident_id))]) {
      signed.set(party.name, this.#credentialsFor(session.provider, party, session.call_id))
    }
    // Two requests with one request_id can both get here: the store keeps the first.
    const first = await store.create(session)
    if (first !== null) return this.#retried(first, request)
    await this.#perform(session, result.effects, now, signed)
    this.#options.observer?.started(session, request.door ?? 'http', performance.now() - arrived)
    return viewOf(session, signed.get(identity('device', deviceId).name) ?? null)
  }

  /**
   * A call request the device already made: its call as it is now. Over MQTT the
   * device also gets it again on its control topic, with the session.
   */
  async #retried (callId: string, request: StartRequest): Promise<CallView> {
    const session = await this.#load(callId)
    const device = identity('device', request.deviceId)
    if (request.door === 'mqtt') {
      const { action, reason } = session.call_info
      const residentId = session.resident_id === null ? {} : { residentId: session.resident_id }
      await this.#perform(session, [{ type: 'control', to: { kind: 'device', id: request.deviceId }, action, reason, withSession: true, ...residentId }], this.#now())
    }
    return this.#viewFor(device, session)
  }

  /** A device's or a resident's action on a call (controller routes, `.../calls/action`). */
  async act (actor: Identity, side: Side, request: ActionRequest): Promise<CallView> {
    await this.#limit(actor)
    let party: Identity = actor
    const session = await this.#apply(request.call_id, (current) => {
      const { kind, id } = partyOf(actor, side, request.resident_id, current)
      party = identity(kind, id)
      return {
        type: 'action',
        actor: { kind, id },
        action: request.action,
        reason: request.reason ?? null,
        canUnlock: kind === 'resident' && this.#options.directory.canUnlock(id),
        ...(request.result === undefined ? {} : { result: request.result }),
        ...(request.timestamp === undefined ? {} : { timestamp: request.timestamp })
      }
    })
    return this.#viewFor(party, session)
  }

  /** End-session: a service, the call's device, or a resident still in the call forces the end. */
  async end (actor: Identity, callId: string, reason?: string): Promise<CallView> {
    await this.#limit(actor)
    const session = await this.#apply(callId, () => ({ type: 'end', by: actor, reason: reason ?? null }))
    return this.#viewFor(actor, session)
  }

  /** The session as `actor` may see it, with its own credentials while it is in the call. */
  async get (actor: Identity, callId: string): Promise<CallView> {
    const session = await this.#load(callId)
    assertMayRead(actor, session)
    return this.#viewFor(actor, session)
  }

  /** Throws unless `actor` may have media credentials for the call's room (a service always may). */
  async assertMediaAccess (actor: Identity, callId: string): Promise<void> {
    assertMayJoinMedia(actor, await this.#load(callId))
  }

  /** Presence news for a device: its active call may end (device offline). */
  async devicePresence (deviceId: string, online: boolean): Promise<void> {
    const callId = await this.#options.store.activeCallOfDevice(deviceId)
    if (callId === null) return
    await this.#applyQuietly(callId, { type: 'device_presence', online })
  }

  /** The device left the directory: its active call ends `forced`, reason `device_removed`. */
  async deviceRemoved (deviceId: string): Promise<void> {
    const callId = await this.#options.store.activeCallOfDevice(deviceId)
    if (callId === null) return
    await this.#applyQuietly(callId, { type: 'device_removed' })
  }

  /** A resident left the directory: each leg ringing it is cancelled, reason `removed`. */
  async residentRemoved (residentId: string): Promise<void> {
    const callIds = await this.#options.store.ringingCallsOfResident(residentId)
    await Promise.all(callIds.map((callId) => this.#applyQuietly(callId, { type: 'resident_removed', residentId })))
  }

  /** How a resident's invite went out, learnt later (a push accepted for it): recorded on its leg. */
  async delivered (callId: string, residentId: string, delivery: Delivery): Promise<void> {
    await this.#applyQuietly(callId, { type: 'delivery', residentId, delivery })
  }

  /** A deadline came due (the timer loop holds its lease). */
  async fireTimer (callId: string, timer: TimerName): Promise<void> {
    await this.#applyQuietly(callId, { type: 'timer', timer })
  }

  async #applyQuietly (callId: string, event: CallEvent): Promise<void> {
    try {
      await this.#apply(callId, () => event)
    } catch (err) {
      // A call that ended or expired meanwhile makes a late event moot.
      if (err instanceof IntercomError && (err.code === 'call_not_found' || err.code === 'invalid_transition')) return
      throw err
    }
  }

  /** Reads, runs the machine, compare-and-sets; on a lost race, again with the winner's session. */
  async #apply (callId: string, eventOf: (current: CallSession) => CallEvent): Promise<CallSession> {
    const { store, timing, beforeWrite } = this.#options
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.#load(callId)
      const event = eventOf(current)
      const now = this.#now()
      const result = transition(current, event, now, timing)
      if (!result.ok) throw result.error
      if (!result.changed) return current
      if (beforeWrite !== undefined) await beforeWrite(callId, event)
      if (await store.compareAndSet(result.session, current.version)) {
        await this.#perform(result.session, result.effects, now)
        this.#options.observer?.transitioned(current, result.session)
        await this.#recordOnline(callId, result.effects)
        return result.session
      }
    }
    throw new IntercomError('service_unavailable', `call ${callId} is changing too fast; retry`)
  }

  async #onlineAmong (residentIds: readonly string[]): Promise<string[]> {
    const online = await Promise.all(residentIds.map((id) => this.#options.isOnline(id)))
    return residentIds.filter((_, i) => online[i])
  }

  /** An invite sent after the start (the next resident of a sequential ring) went out `queued`: `online` if it has a connection. */
  async #recordOnline (callId: string, effects: readonly Effect[]): Promise<void> {
    const invited = effects.flatMap((e) => e.type === 'invite' ? [e.residentId] : [])
    if (invited.length === 0) return
    for (const residentId of await this.#onlineAmong(invited)) await this.#applyQuietly(callId, { type: 'delivery', residentId, delivery: 'online' })
  }

  async #load (callId: string): Promise<CallSession> {
    const session = await this.#options.store.get(callId)
    if (session === null) throw new IntercomError('call_not_found', `no call ${callId}; it never existed or its retention ended`)
    return session
  }

  /** Wakes the timer loop for the session's next deadline, then publishes the effects in order (MQTT keeps it per topic). */
  async #perform (session: CallSession, effects: Effect[], now: number, signed?: Map<string, CallCredentials | null>): Promise<void> {
    // typeof: a session stored before a deadline existed lacks its entry
    const deadlines = TIMERS.map((timer) => session.deadlines[timer]).filter((at): at is number => typeof at === 'number')
    if (deadlines.length > 0) this.#options.onDeadline?.(Math.min(...deadlines))
    const credentialsOf = (who: Identity): CallCredentials | null =>
      signed?.get(who.name) ?? this.#credentialsFor(session.provider, who, session.call_id)
    const { publisher } = this.#options
    await Promise.all(render(session, effects, now, credentialsOf).map(({ topic, payload }) => publisher.publish(topic, payload)))
  }

  /** The session with `who`'s credentials, only while `who` is in the call. */
  #viewFor (who: Identity, session: CallSession): CallView {
    return viewOf(session, mayJoinMedia(who, session) ? this.#credentialsFor(session.provider, who, session.call_id) : null)
  }

  async #limit (actor: Identity): Promise<void> {
    await enforceRateLimit(this.#options.rateLimiter, actor.name, this.#options.rateLimitPerSecond)
  }

  /** 503 before anything rings when the call's media provider is not configured. */
  #assertProvider (provider: Provider): void {
    if (provider === 'trtc') requireTrtc(this.#options.credentials)
    else requireRtc(this.#options.credentials)
  }

  #credentialsFor (provider: Provider, who: Identity, callId: string): CallCredentials | null {
    return this.#options.credentials.forCall(provider, who, callId)
  }
}
