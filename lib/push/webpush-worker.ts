import path from 'node:path'
import { Worker } from 'node:worker_threads'
import type { PushChannel, PushOutcome } from './channel'
import type { VapidKeys } from './webpush'

/** What the Web Push thread is started with: all it needs to build the channel and its outbound guard. */
export interface WebPushThreadData {
  vapid: VapidKeys
  timeoutMs: number
  /** `OUTBOUND_ALLOW_NETWORKS`: the thread applies the same guard as the node. */
  allowNetworks: string
  /** Trusted certificates in place of the defaults, as `https.Agent` takes them. */
  ca?: string | Buffer | Array<string | Buffer>
}

/**
 * Web Push sent from a worker thread. Each push costs an ECDH key pair, an ECDH
 * agreement, HKDF and AES-GCM (RFC 8291) and a TLS write: on the node's event loop
 * that was a third of its busy time, in the way of call set-up. In the thread it
 * runs beside the loop, which only hands the push over and reads the outcome.
 * A thread that dies fails its pushes under way as retries; the next push starts another.
 */
export function createWebPushWorkerChannel (data: WebPushThreadData): PushChannel {
  const pending = new Map<number, (outcome: PushOutcome) => void>()
  let worker: Worker | null = null
  let nextId = 0

  function thread (): Worker {
    if (worker !== null) return worker
    const started = new Worker(path.join(__dirname, 'webpush-thread.js'), { workerData: data })
    started.on('message', (message: { id: number, outcome: PushOutcome }) => {
      pending.get(message.id)?.(message.outcome)
      pending.delete(message.id)
    })
    // Listened to, a crash in the thread does not take the node down; its pushes under way are retried.
    let crash = ''
    started.on('error', (err) => { crash = `: ${err.message}` })
    // An idle thread must not keep the process alive.
    started.unref()
    started.on('exit', (code) => {
      if (worker === started) worker = null
      for (const settle of pending.values()) settle({ status: 'retry', detail: `Web Push thread exited (${code})${crash}` })
      pending.clear()
    })
    worker = started
    return started
  }

  return {
    kind: 'webpush',
    send (subscription, delivery) {
      return new Promise((resolve) => {
        const id = nextId++
        pending.set(id, resolve)
        try {
          thread().postMessage({ id, subscription, delivery })
        } catch (err) {
          pending.delete(id)
          resolve({ status: 'failed', detail: `could not hand the push to the Web Push thread: ${(err as Error).message}` })
        }
      })
    },
    async close () {
      const stopping = worker
      worker = null
      await stopping?.terminate()
    }
  }
}
