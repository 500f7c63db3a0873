import type { Aedes, Client } from 'aedes'
import type { Logger } from 'pino'
import type { ClientContext, ClientContexts } from '../broker/client-context'
import type { StatusFeed } from './status-feed'

export interface PresenceOptions {
  broker: Aedes
  contexts: ClientContexts
  feed: StatusFeed
  logger: Logger
  /** The device's first connection opened. */
  onDeviceOnline?: (deviceId: string) => unknown
  /** The device's last connection closed: DISCONNECT, dropped socket or keep-alive lapse. */
  onDeviceOffline?: (deviceId: string) => unknown
}

export interface Presence {
  /** Stops listening and waits for the changes under way. */
  close (): Promise<void>
}

/**
 * Device presence from the broker's connections. A connection counts from its
 * authentication, which Aedes runs before it closes an older connection with
 * the same client id: a quick reconnect (takeover) therefore never passes
 * through "offline". A connection stops counting at the first sign of its end,
 * whichever comes first: keep-alive lapse, clientDisconnect, or the socket's
 * close (which also covers a connection that dies before Aedes registers it).
 */
export function startPresence (options: PresenceOptions): Presence {
  const { broker, contexts, feed, logger } = options
  /** connectionId → deviceId of the device connections counted as open. */
  const open = new Map<string, string>()
  let stopped = false

  function notify (callback: ((deviceId: string) => unknown) | undefined, deviceId: string): void {
    if (callback === undefined) return
    Promise.resolve().then(() => callback(deviceId)).catch((err: unknown) => {
      logger.error({ err, deviceId }, 'presence callback failed')
    })
  }

  function closed (context: ClientContext | undefined): void {
    if (stopped || context === undefined) return
    const deviceId = open.get(context.connectionId)
    if (deviceId === undefined) return
    open.delete(context.connectionId)
    feed.connectionClosed(deviceId, context.connectionId).then((change) => {
      if (change.changed) notify(options.onDeviceOffline, deviceId)
    }, (err: unknown) => logger.error({ err, deviceId }, 'could not record a device going offline'))
  }

  const stopListening = contexts.onAuthenticated((client, context) => {
    if (stopped || context.identity.kind !== 'device') return
    // Authentication may finish after the socket is gone; then no close event is still to come.
    if (client.closed || client.conn.destroyed) return
    const deviceId = context.identity.id
    open.set(context.connectionId, deviceId)
    client.conn.once('close', () => closed(context))
    feed.connectionOpened(deviceId, context.connectionId).then((change) => {
      if (change.changed) notify(options.onDeviceOnline, deviceId)
    }, (err: unknown) => logger.error({ err, deviceId }, 'could not record a device coming online'))
  })

  const onGone = (client: Client): void => closed(contexts.get(client))
  broker.on('clientDisconnect', onGone)
  broker.on('keepaliveTimeout', onGone)

  return {
    async close () {
      stopped = true
      stopListening()
      broker.off('clientDisconnect', onGone)
      broker.off('keepaliveTimeout', onGone)
      await feed.drain()
    }
  }
}
