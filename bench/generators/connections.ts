import type { MqttClient } from 'mqtt'
import { send, serve } from './child'
import { connected, createClient } from './client'
import type { ConnectResult, ConnectSpec } from './protocol'

let spec: ConnectSpec | null = null
const clients: MqttClient[] = []

/** Opens spec.count idle connections, spec.concurrency at a time. */
async function connectAll (s: ConnectSpec): Promise<ConnectResult> {
  let next = 0
  let ok = 0
  let failed = 0
  let firstError: string | null = null
  const lane = async (): Promise<void> => {
    while (next < s.count) {
      const identity = s.identities?.[next % s.identities.length]
      const client = createClient(identity === undefined ? s : { ...s, ...identity }, { clientId: `${s.idPrefix}-${next++}`, localAddress: s.localAddress, keepalive: s.keepalive })
      clients.push(client)
      try {
        await connected(client)
        ok++
      } catch (err) {
        failed++
        firstError ??= (err as Error).message
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(s.concurrency, s.count) }, lane))
  return { connected: ok, failed, firstError }
}

serve(async (message) => {
  switch (message.type) {
    case 'connect':
      spec = message.spec
      await send({ type: 'ready' })
      return
    case 'go':
      if (spec === null) throw new Error('connections generator: "go" before "connect"')
      await send({ type: 'connected', result: await connectAll(spec) })
      return
    case 'close':
      for (const c of clients) c.stream.destroy()
      await send({ type: 'closed' })
      process.exit(0)
      break
    default:
      throw new Error(`connections generator: unexpected "${message.type}"`)
  }
})
