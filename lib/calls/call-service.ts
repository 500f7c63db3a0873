import type { Logger } from 'pino'
import type { Publisher } from '../broker/publisher'
import { requireRtc, requireTrtc, type CallCredentials, type Credentials } from '../credentials'
import type { Directory } from '../directory/directory'
import { IntercomError } from '../errors'
import { identity, type Identity } from '../identity'
import { enforceRateLimit, type RateLimiter } from '../limits/rate-limiter'
import type { CallStore } from '../stores/call-store'
import { topics } from '../topics/names'
import { newCallId } from './call-id'
import type { Effect } from './effects'
import { startCall, transition, type CallEvent, type MachineOptions } from './machine'
import { controlMessage, eventMessage, inviteMessage, viewOf, type CallView } from './messages'
import type { ActionRequest } from './requests'
import type { CallSession, Provider, TimerName } from './session'

export interface CallServiceOptions {
  store: CallStore
  publisher: Publisher
  directory: Directory
  credentials: Credentials
  rateLimiter: RateLimiter
  rateLimitPerSecond: number
  timing: MachineOptions
  logger: Logger
  /** Told when a transition sets a deadline, so the timer loop can wake in time. */
  onDeadline?: (at: number) => void
  now?: () => number
}

export interface StartRequest {
  deviceId: string
  targetResidentId?: string
  householdNumber?: string
  timestamp?: number
  provider: Provider
}

/** A transition lost its compare-and-set this many times in a row: something is very wrong. */
const MAX_ATTEMPTS = 50

/**
 * The shell around the pure machine: checks rights, reads and writes the
 * store with compare-and-set, and turns effects into MQTT messages. HTTP
 * routes and MQTT requests both come through here.
 */
export class CallService {
  readonly #options: CallServiceOptions
  readonly #now: () => number

  constructor (options: CallServiceOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** Rings the residents of a device (CONTRACT §4 `/api/mqtt/call`). */
  async start (actor: Identity, request: StartRequest): Promise<CallView> {
    const { directory, store, timing } = this.#options
    const { deviceId } = request
    if (!(actor.kind === 'service' || (actor.kind === 'device' && actor.id === deviceId))) {
      throw new IntercomError('forbidden', `${actor.name} may not start a call for device ${deviceId}; a device calls only for itself`)
    }
    await this.#limit(actor)
    if (!directory.hasDevice(deviceId)) throw new IntercomError('not_found', `no device ${deviceId} in the directory`)
    this.#assertProvider(request.provider)
    const targets = this.#targets(request)
    const busy = await store.connectedResidents([...targets])
    const now = this.#now()
    const result = startCall({
      callId: newCallId(now),
      provider: request.provider,
      deviceId,
      targets: [...targets],
      busy: targets.filter((r) => busy.has(r)),
      householdNumber: request.householdNumber ?? null,
      ...(request.timestamp === undefined ? {} : { timestamp: request.timestamp })
    }, now, timing)
    if (!result.ok) throw result.error
    // Sign every party's credentials before anything is stored: a failure here leaves no call behind.
    const session = result.session
    const signed = new Map<string, CallCredentials | null>()
    for (const party of [identity('device', deviceId), ...session.legs.filter((l) => l.state === 'ringing').map((l) => identity('resident', l.resident_id))]) {
      signed.set(party.name, this.#credentialsFor(session.provider, party, session.call_id))
    }
    await store.create(session)
    await this.#perform(session, result.effects, now, signed)
    return viewOf(session, signed.get(identity('device', deviceId).name) ?? null)
  }

  /** A device's or a resident's action on a call (`/api/mqtt/controller/*`, `.../calls/action`). */
  async act (actor: Identity, side: 'device' | 'resident', request: ActionRequest): Promise<CallView> {
    const party = await this.#partyFor(actor, side, request)
    await this.#limit(actor)
    const event: CallEvent = {
      type: 'action',
      actor: party,
      action: request.action,
      reason: request.reason ?? null,
      ...(request.timestamp === undefined ? {} : { timestamp: request.timestamp })
    }
    const session = await this.#apply(request.call_id, event)
    return viewOf(session, this.#credentialsFor(session.provider, identity(party.kind, party.id), session.call_id))
  }

  /** End-session (§4): a service, or a party of the call, forces the end. */
  async end (actor: Identity, callId: string, reason?: string): Promise<CallView> {
    const current = await this.#load(callId)
    this.#assertReader(actor, current)
    await this.#limit(actor)
    const session = await this.#apply(callId, { type: 'end', by: actor.name, reason: reason ?? null })
    return viewOf(session, this.#credentialsFor(session.provider, actor, session.call_id))
  }

  /** The session as `actor` may see it, with its own credentials. */
  async get (actor: Identity, callId: string): Promise<CallView> {
    const session = await this.#load(callId)
    this.#assertReader(actor, session)
    return viewOf(session, this.#credentialsFor(session.provider, actor, session.call_id))
  }

  /** Presence news for a device: its active call may end (§6 device offline). */
  async devicePresence (deviceId: string, online: boolean): Promise<void> {
    const callId = await this.#options.store.activeCallOfDevice(deviceId)
    if (callId === null) return
    await this.#applyQuietly(callId, { type: 'device_presence', online })
  }

  /** A device left the directory: its active call ends `forced`, reason `device_removed`. */
  async deviceRemoved (deviceId: string): Promise<void> {
    const callId = await this.#options.store.activeCallOfDevice(deviceId)
    if (callId === null) return
    await this.#applyQuietly(callId, { type: 'end', by: 'system', reason: 'device_removed' })
  }

  /** A deadline came due (the timer loop holds its lease). */
  async fireTimer (callId: string, timer: TimerName): Promise<void> {
    await this.#applyQuietly(callId, { type: 'timer', timer })
  }

  async #applyQuietly (callId: string, event: CallEvent): Promise<void> {
    try {
      await this.#apply(callId, event)
    } catch (err) {
      // A call that ended or expired meanwhile makes a late event moot.
      if (err instanceof IntercomError && (err.code === 'call_not_found' || err.code === 'invalid_transition')) return
      throw err
    }
  }

  /** Reads, runs the machine, compare-and-sets; on a lost race, again with the winner's session. */
  async #apply (callId: string, event: CallEvent): Promise<CallSession> {
    const { store, timing } = this.#options
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.#load(callId)
      const now = this.#now()
      const result = transition(current, event, now, timing)
      if (!result.ok) throw result.error
      if (!result.changed) return current
      if (await store.compareAndSet(result.session, current.version)) {
        await this.#perform(result.session, result.effects, now)
        return result.session
      }
    }
    throw new IntercomError('service_unavailable', `call ${callId} is changing too fast; retry`)
  }

  async #load (callId: string): Promise<CallSession> {
    const session = await this.#options.store.get(callId)
    if (session === null) throw new IntercomError('call_not_found', `no call ${callId}; it never existed or its retention ended`)
    return session
  }

  /** Publishes the effects in order; per topic, MQTT keeps that order. */
  async #perform (session: CallSession, effects: Effect[], now: number, signed?: Map<string, CallCredentials | null>): Promise<void> {
    const { publisher } = this.#options
    const credentialsOf = (who: Identity): CallCredentials | null =>
      signed?.get(who.name) ?? this.#credentialsFor(session.provider, who, session.call_id)
    const sends: Array<Promise<void>> = []
    for (const effect of effects) {
      switch (effect.type) {
        case 'invite': {
          const credentials = credentialsOf(identity('resident', effect.residentId))
          sends.push(publisher.publish(topics.invite(effect.residentId), inviteMessage(session, effect.residentId, credentials)))
          break
        }
        case 'control': {
          const to = effect.to
          const credentials = effect.withSession === true ? credentialsOf(identity(to.kind, to.id)) : null
          const topic = to.kind === 'device' ? topics.deviceControl(to.id) : topics.residentControl(to.id)
          sends.push(publisher.publish(topic, controlMessage(session, effect, now, credentials)))
          break
        }
        case 'event':
          sends.push(publisher.publish(topics.callEvents(session.call_id), eventMessage(session, effect, now)))
          break
        case 'set_timer':
          this.#options.onDeadline?.(effect.at)
          break
        case 'clear_timer':
          // The store drops the timer with the deadline.
          break
      }
    }
    await Promise.all(sends)
  }

  /** Who rings: the one target, else the household, else every resident of the device (§4). */
  #targets (request: StartRequest): readonly string[] {
    const { directory } = this.#options
    const { deviceId, targetResidentId, householdNumber } = request
    if (targetResidentId !== undefined) {
      if (!directory.hasResident(targetResidentId)) throw new IntercomError('not_found', `no resident ${targetResidentId} in the directory`)
      if (!directory.residentsOfDevice(deviceId).includes(targetResidentId)) {
        throw new IntercomError('forbidden', `resident ${targetResidentId} is not associated with device ${deviceId}`)
      }
      return [targetResidentId]
    }
    if (householdNumber !== undefined) {
      if (!directory.householdsOfDevice(deviceId).includes(householdNumber)) {
        throw new IntercomError('forbidden', `household ${householdNumber} is not served by device ${deviceId}`)
      }
      return directory.residentsOfHousehold(householdNumber)
    }
    return directory.residentsOfDevice(deviceId)
  }

  /** The party a request acts as: a device or resident for itself, a service for a named one. */
  async #partyFor (actor: Identity, side: 'device' | 'resident', request: ActionRequest): Promise<{ kind: 'device' | 'resident', id: string }> {
    if (side === 'device') {
      if (actor.kind === 'device') return { kind: 'device', id: actor.id }
      if (actor.kind === 'service') return { kind: 'device', id: (await this.#load(request.call_id)).device_device_id }
      throw new IntercomError('forbidden', `${actor.name} may not act as a device`)
    }
    if (actor.kind === 'resident') {
      if (request.resident_id !== undefined && request.resident_id !== actor.id) {
        throw new IntercomError('forbidden', `resident/${actor.id} may not act for resident ${request.resident_id}`)
      }
      return { kind: 'resident', id: actor.id }
    }
    if (actor.kind === 'service') {
      if (request.resident_id === undefined) {
        throw new IntercomError('invalid_request', 'call_info.resident_id is required when a service acts for a resident')
      }
      return { kind: 'resident', id: request.resident_id }
    }
    throw new IntercomError('forbidden', `${actor.name} may not act as a resident`)
  }

  /** A service, the call's device, or a resident the call rang. */
  #assertReader (actor: Identity, session: CallSession): void {
    const allowed = actor.kind === 'service' ||
      (actor.kind === 'device' && actor.id === session.device_device_id) ||
      (actor.kind === 'resident' && session.legs.some((leg) => leg.resident_id === actor.id && leg.state !== 'busy'))
    if (!allowed) throw new IntercomError('forbidden', `${actor.name} is not a party of call ${session.call_id}`)
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
