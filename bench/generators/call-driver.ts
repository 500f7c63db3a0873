import { performance } from 'node:perf_hooks'
import { RESIDENTS_PER_HOUSEHOLD } from './call-directory'
import { httpCaller, type Device, type HttpAnswer } from './call-parties'
import type { CallsResult, CallStep } from './protocol'

const EVERY_RESIDENT = (1 << RESIDENTS_PER_HOUSEHOLD) - 1
/** A call not ended by then has failed; its device leaves the rotation, as the call may still ring on the node. */
const CALL_TIMEOUT_MS = 5000
const DRAIN_MS = CALL_TIMEOUT_MS + 1000

/** The fields of the node's messages the driver reads. */
interface Wire {
  action?: string
  call_id?: string
  device_device_id?: string
  error?: string
}

interface DeviceState {
  readonly device: Device
  /** Residents whose invite (then end message) the call waits for: all of them, or the first of a sequential household. */
  readonly expected: number
  call: Call | null
  retired: boolean
}

interface Call {
  readonly state: DeviceState
  readonly t0: number
  /** Started inside the measured window. */
  readonly measured: boolean
  callId: string | null
  /** Bit k: resident k got its invite (then, in `cycles`, its end message). */
  invited: number
  ended: number
  setUp: boolean
  /** The next move was sent: the device's cancel (`rate`) or resident 0's answer (`cycles`). */
  moved: boolean
  hungUp: boolean
  deviceEnded: boolean
}

export interface Marks {
  windowStart (): Promise<void>
  windowEnd (): Promise<void>
}

type Counts = Omit<CallsResult, 'seconds'>

const freshCounts = (): Counts => ({ started: 0, ended: 0, samples: [], failures: {}, skippedBusy: 0, stray: 0 })

function parse (payload: Buffer): Wire {
  return JSON.parse(payload.toString('utf8')) as Wire
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Plays the devices and residents of one generator through one step: starts
 * calls (paced, or again as soon as each ends), follows each call through its
 * messages, ends it, and times it. A device has one call at a time.
 */
export class CallDriver {
  readonly #states: DeviceState[]
  readonly #callHttp: ReturnType<typeof httpCaller>
  #step: CallStep = { transport: 'mqtt', mode: 'rate', rate: 0, concurrency: 0, warmupMs: 0, measureMs: 0 }
  #running = false
  #recording = false
  #cursor = 0
  #requests = 0
  #counts: Counts = freshCounts()

  constructor (devices: Device[], httpPort: number) {
    this.#states = devices.map((device) => ({ device, expected: device.sequential ? 1 : EVERY_RESIDENT, call: null, retired: false }))
    this.#callHttp = httpCaller(httpPort)
    for (const state of this.#states) this.#listen(state)
  }

  async run (step: CallStep, marks: Marks): Promise<CallsResult> {
    this.#step = step
    this.#running = true
    const sweeper = setInterval(() => this.#sweep(), 250)
    let pacer: NodeJS.Timeout | undefined
    if (step.mode === 'rate') {
      const start = performance.now()
      let sent = 0
      pacer = setInterval(() => {
        const due = Math.floor((performance.now() - start) * step.rate / 1000)
        for (; sent < due && this.#running; sent++) this.#startNext()
      }, 1)
    } else {
      for (const state of this.#states.filter((s) => !s.retired && s.call === null).slice(0, step.concurrency)) this.#start(state)
    }
    await sleep(step.warmupMs)
    this.#counts = freshCounts()
    this.#recording = true
    const begin = performance.now()
    await marks.windowStart()
    await sleep(step.measureMs)
    this.#recording = false
    const seconds = (performance.now() - begin) / 1000
    await marks.windowEnd()
    this.#running = false
    clearInterval(pacer)
    const drainBy = performance.now() + DRAIN_MS
    while (this.#states.some((s) => s.call !== null) && performance.now() < drainBy) await sleep(20)
    clearInterval(sweeper)
    for (const state of this.#states) if (state.call !== null) this.#fail(state.call, 'not ended')
    return { seconds, ...this.#counts }
  }

  close (): void {
    for (const { device } of this.#states) {
      device.client.stream.destroy()
      for (const resident of device.residents) resident.client.stream.destroy()
    }
  }

  #listen (state: DeviceState): void {
    state.device.client.on('message', (topic, payload) => {
      if (topic.endsWith('/calls/control')) this.#onDeviceControl(state, parse(payload))
      else if (topic.endsWith('/calls/error')) this.#onError(state, parse(payload))
    })
    state.device.residents.forEach((resident, k) => {
      resident.client.on('message', (topic, payload) => {
        if (topic.endsWith('/calls/incoming')) this.#onInvite(state, k, parse(payload))
        else if (topic.endsWith('/calls/control')) this.#onResidentControl(state, k, parse(payload))
        else if (topic.endsWith('/calls/error')) this.#onError(state, parse(payload))
      })
    })
  }

  /** Round-robin over the devices, passing over (and counting) those whose last call has not ended. */
  #startNext (): void {
    const n = this.#states.length
    for (let tried = 0; tried < n; tried++) {
      const state = this.#states[this.#cursor] as DeviceState
      this.#cursor = (this.#cursor + 1) % n
      if (state.retired) continue
      if (state.call === null) {
        this.#start(state)
        return
      }
      if (this.#recording) this.#counts.skippedBusy++
    }
    if (this.#recording) this.#tally('no free device')
  }

  #start (state: DeviceState): void {
    const call: Call = {
      state,
      t0: performance.now(),
      measured: this.#recording,
      callId: null,
      invited: 0,
      ended: 0,
      setUp: false,
      moved: false,
      hungUp: false,
      deviceEnded: false
    }
    state.call = call
    if (this.#recording) this.#counts.started++
    const { device } = state
    if (this.#step.transport === 'mqtt') {
      device.client.publish(`calls/request/${device.id}`, JSON.stringify({ request_id: `r${++this.#requests}` }), { qos: 1 })
    } else {
      this.#callHttp(device, (answer) => this.#onHttp(call, answer))
    }
  }

  #onHttp (call: Call, answer: HttpAnswer | Error): void {
    if (call.state.call !== call) return
    if (answer instanceof Error) {
      this.#fail(call, (answer as NodeJS.ErrnoException).code ?? answer.message)
      return
    }
    if (answer.status !== 200) {
      this.#fail(call, answer.body?.error ?? `HTTP ${answer.status}`)
      return
    }
    this.#identify(call, answer.body?.data?.call_id)
  }

  /** The call id, from whichever comes first: the HTTP answer, the device's `ringing`, an invite. */
  #identify (call: Call, callId: string | undefined): void {
    if (call.callId !== null || callId === undefined) return
    call.callId = callId
    this.#advance(call)
  }

  #onInvite (state: DeviceState, k: number, message: Wire): void {
    const call = state.call
    if (call === null || message.device_device_id !== state.device.id || (call.callId !== null && message.call_id !== call.callId)) {
      this.#stray()
      return
    }
    call.invited |= 1 << k
    if ((call.invited & state.expected) === state.expected && !call.setUp) {
      call.setUp = true
      if (call.measured) this.#counts.samples.push(performance.now() - call.t0)
    }
    if (call.callId === null) this.#identify(call, message.call_id)
    else this.#advance(call)
  }

  /** Once every expected invite is in: the device cancels (`rate`), or resident 0 answers (`cycles`). */
  #advance (call: Call): void {
    if (call.moved || call.callId === null || !call.setUp) return
    call.moved = true
    const action = JSON.stringify({ call_id: call.callId, action: this.#step.mode === 'rate' ? 'cancelled' : 'answered' })
    const { device } = call.state
    if (this.#step.mode === 'rate') device.client.publish(`devices/${device.id}/calls/action`, action, { qos: 1 })
    else {
      const answerer = device.residents[0] as Device['residents'][number]
      answerer.client.publish(`users/${answerer.id}/calls/action`, action, { qos: 1 })
    }
  }

  #onDeviceControl (state: DeviceState, message: Wire): void {
    const call = state.call
    if (call === null) return
    if (message.action === 'ringing') {
      // With every resident offline the call is set up once it rings.
      if (state.device.residents.length === 0 && !call.setUp) {
        call.setUp = true
        if (call.measured) this.#counts.samples.push(performance.now() - call.t0)
      }
      this.#identify(call, message.call_id)
      this.#advance(call)
    }
    if (message.call_id !== call.callId) return
    if (this.#step.mode === 'rate') {
      if (message.action === 'cancelled') this.#end(call)
      return
    }
    if (message.action === 'answered' && !call.hungUp) {
      call.hungUp = true
      state.device.client.publish(`devices/${state.device.id}/calls/action`, JSON.stringify({ call_id: call.callId, action: 'hangup' }), { qos: 1 })
    } else if (message.action === 'hangup') {
      call.deviceEnded = true
      this.#endOfCycle(call)
    }
  }

  #onResidentControl (state: DeviceState, k: number, message: Wire): void {
    const call = state.call
    if (this.#step.mode !== 'cycles' || call === null || message.call_id !== call.callId) return
    if (message.action === 'cancelled' || message.action === 'hangup') {
      call.ended |= 1 << k
      this.#endOfCycle(call)
    }
  }

  /** A cycle is over when the device and every rung resident got their end message. */
  #endOfCycle (call: Call): void {
    const { expected } = call.state
    if (call.deviceEnded && (call.ended & expected) === expected) this.#end(call)
  }

  #onError (state: DeviceState, message: Wire): void {
    if (state.call === null) this.#stray()
    else this.#fail(state.call, message.error ?? 'error')
  }

  #end (call: Call): void {
    const { state } = call
    state.call = null
    if (this.#recording) {
      this.#counts.ended++
      if (this.#step.mode === 'cycles') this.#counts.samples.push(performance.now() - call.t0)
    }
    if (this.#step.mode === 'cycles' && this.#running) this.#start(state)
  }

  #fail (call: Call, code: string): void {
    const { state } = call
    if (state.call !== call) return
    state.call = null
    if (call.measured || this.#recording) this.#tally(code)
    if (code === 'device_busy' || call.callId !== null) state.retired = true
    if (this.#step.mode === 'cycles' && this.#running && !state.retired) this.#start(state)
  }

  #sweep (): void {
    const now = performance.now()
    for (const state of this.#states) {
      if (state.call !== null && now - state.call.t0 > CALL_TIMEOUT_MS) this.#fail(state.call, `not ended within ${CALL_TIMEOUT_MS / 1000} s`)
    }
  }

  #tally (failure: string): void {
    this.#counts.failures[failure] = (this.#counts.failures[failure] ?? 0) + 1
  }

  #stray (): void {
    if (this.#recording) this.#counts.stray++
  }
}
