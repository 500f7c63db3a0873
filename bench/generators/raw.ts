import { performance } from 'node:perf_hooks'
import type { MqttClient } from 'mqtt'
import { percentiles } from '../report/stats'
import { send, serve } from './child'
import { connected, createClient } from './client'
import type { RawResult, RawSpec } from './protocol'

const STALL_MS = 2000
const DRAIN_MS = 5000

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function connectAll (spec: RawSpec): Promise<{ publisher: MqttClient, subscribers: MqttClient[] }> {
  const id = (role: string): string => `bench-${role}-${process.pid}`
  const subscribers = Array.from({ length: spec.subscribers }, (_, i) => createClient(spec, { clientId: id(`sub${i}`) }))
  const publisher = createClient(spec, { clientId: id('pub') })
  await Promise.all([publisher, ...subscribers].map(connected))
  for (const s of subscribers) {
    const granted = await s.subscribeAsync(spec.topic, { qos: spec.qos })
    if (granted[0]?.qos !== spec.qos) throw new Error(`subscription to ${spec.topic} refused (granted ${JSON.stringify(granted)})`)
  }
  return { publisher, subscribers }
}

/**
 * One publisher and N subscribers in one process, so that the in-flight
 * window is exact (published × N − delivered) and latency needs one clock.
 * The send time travels in the payload's first 8 bytes.
 */
async function run (spec: RawSpec): Promise<RawResult> {
  const { publisher, subscribers } = await connectAll(spec)
  const fanout = spec.subscribers
  let published = 0
  let delivered = 0
  let lost = 0
  let publishing = true
  let lastProgress = performance.now()
  let recording = false
  const samples = new Float64Array(spec.mode === 'rate' ? Math.ceil(spec.rate * (spec.measureMs / 1000 + 2) * fanout) : 0)
  let sampled = 0

  const publishOne = (): void => {
    const payload = Buffer.alloc(spec.payloadBytes)
    payload.writeDoubleLE(performance.now(), 0)
    publisher.publish(spec.topic, payload, { qos: spec.qos })
    published++
  }
  const inFlight = (): number => published * fanout - delivered - lost
  const pump = (): void => {
    if (!publishing || spec.mode !== 'throughput') return
    while (inFlight() < spec.window * fanout) publishOne()
  }
  for (const s of subscribers) {
    s.on('message', (_topic, payload) => {
      const now = performance.now()
      delivered++
      lastProgress = now
      if (recording && sampled < samples.length) samples[sampled++] = now - payload.readDoubleLE(0)
      pump()
    })
  }
  // QoS 0 may drop: a window that waits for lost messages would stall for good.
  const stallGuard = setInterval(() => {
    if (inFlight() > 0 && performance.now() - lastProgress > STALL_MS) {
      lost += inFlight()
      lastProgress = performance.now()
      pump()
    }
  }, 500)

  let pacer: NodeJS.Timeout | undefined
  if (spec.mode === 'rate') {
    const start = performance.now()
    let sent = 0
    pacer = setInterval(() => {
      const due = Math.floor((performance.now() - start) * spec.rate / 1000)
      if (!publishing) return
      for (; sent < due; sent++) publishOne()
    }, 1)
  } else {
    pump()
  }

  await sleep(spec.warmupMs)
  const begin = { published, delivered, lost, at: performance.now() }
  recording = true
  await send({ type: 'window-start' })
  await sleep(spec.measureMs)
  const end = { published, delivered, lost, at: performance.now() }
  recording = false
  await send({ type: 'window-end' })

  publishing = false
  clearInterval(pacer)
  const drainBy = performance.now() + DRAIN_MS
  while (inFlight() > 0 && performance.now() < drainBy) await sleep(20)
  clearInterval(stallGuard)
  await Promise.all([publisher, ...subscribers].map((c) => c.endAsync(true)))
  return {
    published: end.published - begin.published,
    delivered: end.delivered - begin.delivered,
    seconds: (end.at - begin.at) / 1000,
    lost: lost + inFlight(),
    latency: spec.mode === 'rate' ? percentiles(samples.subarray(0, sampled)) : null
  }
}

serve(async (message) => {
  if (message.type !== 'raw') throw new Error(`raw generator: unexpected "${message.type}"`)
  const result = await run(message.spec)
  await send({ type: 'raw-result', result })
  process.exit(0)
})
