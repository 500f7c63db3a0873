import { parentPort, workerData } from 'node:worker_threads'
import { createOutboundGuard, parseNetworks } from '../outbound/address-guard'
import type { PushDelivery } from './channel'
import type { Subscription } from './subscriptions'
import { createWebPushChannel } from './webpush'
import type { WebPushThreadData } from './webpush-worker'

/** The Web Push channel in its own thread: one answer per request, by id. */
const data = workerData as WebPushThreadData
const channel = createWebPushChannel({
  vapid: data.vapid,
  timeoutMs: data.timeoutMs,
  outbound: createOutboundGuard({ allow: parseNetworks(data.allowNetworks) }),
  ...(data.ca === undefined ? {} : { ca: data.ca })
})

parentPort?.on('message', (message: { id: number, subscription: Subscription, delivery: PushDelivery }) => {
  channel.send(message.subscription, message.delivery).then(
    (outcome) => parentPort?.postMessage({ id: message.id, outcome }),
    (err: unknown) => parentPort?.postMessage({ id: message.id, outcome: { status: 'retry', detail: (err as Error).message } })
  )
})
