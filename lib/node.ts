import { randomBytes } from 'node:crypto'
import type { Server } from 'node:net'
import pino, { type Logger } from 'pino'
import { corsOriginsOf, redisAddressOf, type Config } from '../config/env'
import { createBroker } from './broker/create-broker'
import { closeServer, listenMqtt, listenMqtts, readTlsFiles } from './broker/listeners'
import { createPublisher } from './broker/publisher'
import type { PacketProblem } from './broker/packet-size-guard'
import { sendErrorReply } from './broker/error-replies'
import { createRequestRouter } from './broker/requests'
import { slowPastBytes } from './broker/slow-clients'
import { createAuthenticator, type Authenticator } from './auth/authenticator'
import { createTokenVerifier } from './auth/tokens'
import { closeConnectionsAtTokenExpiry } from './auth/token-expiry'
import { closeConnectionsOf } from './directory/connections'
import { createFileDirectoryStore } from './directory/file-store'
import { LiveDirectory } from './directory/live-directory'
import { createRedisDirectoryStore } from './directory/redis-store'
import { IntercomError } from './errors'
import { buildHttpApp, type HttpAppOptions } from './http-app'
import { listenAs } from './listen-errors'
import { createCallObserver } from './observability/call-observer'
import { countMqttConnections, countSlowClients } from './observability/connection-metrics'
import { createDeliveryMetrics } from './observability/delivery-metrics'
import { createOutboundGuard, parseNetworks } from './outbound/address-guard'
import { createMetrics } from './observability/metrics'
import { readinessOf } from './observability/readiness'
import { CallService, type CallServiceOptions } from './calls/call-service'
import { registerCallRequests } from './calls/mqtt-requests'
import { viewOf } from './calls/view'
import { startTimerLoop } from './calls/timer-loop'
import { createCredentials, credentialOptionsFromConfig } from './credentials'
import { createStateBackends } from './state-backends'
import { createConnectionGate } from './limits/connection-gate'
import callRoutes from '../plugins/call-routes'
import callRecords from '../plugins/call-records'
import { startPresence } from './presence/presence'
import { createStatusFeed } from './presence/status-feed'
import { createStatusReportHandler } from './presence/status-requests'
import { createSystemMessenger } from './presence/system-messages'
import statusRoutes from '../plugins/status-routes'
import systemRoutes from '../plugins/system-routes'
import mediaRoutes from '../plugins/media-routes'
import { createWebhookBackend } from './webhooks/backend'
import { startWebhooks } from './webhooks/webhooks'
import webhookRoutes from '../plugins/webhook-routes'
import { createPushBackend } from './push/backend'
import { startPushDispatcher } from './push/dispatcher'
import { trackResidentConnections } from './push/resident-connections'
import { pushChannelsFromConfig } from './push/channels'
import { orderKeys } from './webhooks/producer'
import pushRoutes from '../plugins/push-routes'
import dndRoutes from '../plugins/dnd-routes'
import adminRoutes from '../plugins/admin-routes'

export interface NodeOptions {
  config: Config
  logger?: Logger
  /** Test-only: see `beforeWrite` in `CallServiceOptions`. */
  callTestHooks?: Pick<CallServiceOptions, 'beforeWrite'>
}

export interface IntercomNode {
  readonly id: string
  readonly ports: { mqtt: number, http: number, mqtts?: number, https?: number }
  /** Every sign-in of this node goes through it. */
  readonly authenticator: Authenticator
  /** Re-reads the directory file (a node alone); false when the directory lives in Redis. */
  reloadDirectory (): Promise<boolean>
  close (): Promise<void>
}

/** A claimed call timer is retried by another node after this long. */
const TIMER_LEASE_MS = 5000
/** Deadlines set on other nodes are noticed within this. */
const TIMER_POLL_MS = 250
/** Nodes of a cluster compare their directory version with Redis this often, in case a change notice was lost. */
const DIRECTORY_CHECK_MS = 500

/** Webhook deliveries: bounds and pace of each node's worker. */
const WEBHOOK_MAX_BODY_BYTES = 262_144
const WEBHOOK_MAX_INTAKE = 10_000
const WEBHOOK_MAX_RETRY_DELAY_MS = 3_600_000
const WEBHOOK_CONCURRENCY = 16
const WEBHOOK_POLL_MS = 250
/** Pushes each node sends at once. */
const PUSH_CONCURRENCY = 32

const VERSION: string = (require('../../package.json') as { version: string }).version

/** Listens and returns the bound port (the configured one may be 0). */
async function listenHttp (app: { listen: (options: { port: number, host: string }) => Promise<string>, server: Server }, port: number, host: string): Promise<number> {
  await app.listen({ port, host })
  const address = app.server.address()
  return typeof address === 'object' && address !== null ? address.port : port
}

/** Starts one node: broker, listeners and HTTP sidecar, wired to the call logic. */
export async function startNode (options: NodeOptions): Promise<IntercomNode> {
  const { config } = options
  const logger = options.logger ?? pino({ level: config.LOG_LEVEL })
  // Unique per process, also when restarted under the same NODE_ID: the Redis persistence keys
  // queued messages by broker id and a counter that restarts with the process.
  const id = `${config.NODE_ID ?? 'node'}-${randomBytes(4).toString('hex')}`
  const redisAddress = redisAddressOf(config)
  const directoryStore = redisAddress === null
    ? createFileDirectoryStore(config.INTERCOM_DIRECTORY)
    : createRedisDirectoryStore({ address: redisAddress, logger, seedFile: config.INTERCOM_DIRECTORY, checkMs: DIRECTORY_CHECK_MS })
  let live: LiveDirectory
  try {
    live = await LiveDirectory.start({
      store: directoryStore,
      logger,
      onRemoved: async ({ devices, residents }) => {
        for (const deviceId of devices) await calls.deviceRemoved(deviceId)
        for (const residentId of residents) await calls.residentRemoved(residentId)
      }
    })
  } catch (err) {
    await directoryStore.close()
    throw err
  }
  logger.info({ source: directoryStore.description, version: live.directory.version }, 'directory loaded')
  const directory = live.directory
  const tokens = createTokenVerifier({
    ...(config.AUTH_JWT_SECRET === undefined ? {} : { secret: config.AUTH_JWT_SECRET }),
    ...(config.AUTH_JWT_PUBLIC_KEY === undefined ? {} : { publicKey: config.AUTH_JWT_PUBLIC_KEY }),
    ...(config.AUTH_JWT_AUDIENCE === undefined ? {} : { audience: config.AUTH_JWT_AUDIENCE }),
    ...(config.AUTH_JWT_ISSUER === undefined ? {} : { issuer: config.AUTH_JWT_ISSUER })
  }, directory)
  const tlsOptions = config.TLS_CERT !== undefined && config.TLS_KEY !== undefined
    ? readTlsFiles({ cert: config.TLS_CERT, key: config.TLS_KEY })
    : null
  const backends = createStateBackends(config, id, logger)
  const authenticator = createAuthenticator({
    directory,
    tokens,
    throttle: backends.signInThrottle,
    logger,
    limits: {
      failuresPerIdentity: config.SIGN_IN_FAILURES_PER_IDENTITY,
      failuresPerAddress: config.SIGN_IN_FAILURES_PER_ADDRESS,
      concurrentChecks: config.SIGN_IN_CONCURRENT_CHECKS,
      maxWaitingChecks: config.SIGN_IN_MAX_WAITING,
      maxWaitingChecksPerAddress: config.SIGN_IN_MAX_WAITING_PER_ADDRESS
    }
  })
  const metrics = config.METRICS_ENABLED ? createMetrics(backends.kind === 'redis' ? { redisUp: backends.up } : {}) : undefined

  const outgoingLimits = { maxBytes: config.MQTT_CLIENT_QUEUE_BYTES, maxMessages: config.MQTT_CLIENT_QUEUE_MESSAGES }
  const broker = await createBroker({
    ...backends.broker,
    id,
    directory,
    authenticator,
    logger,
    connectTimeoutMs: config.MQTT_CONNECT_TIMEOUT_MS,
    maxKeepaliveSeconds: config.MQTT_MAX_KEEPALIVE_S,
    maxSubscriptions: config.MQTT_MAX_SUBSCRIPTIONS,
    outgoingLimits,
    handleRequest: (context, kind, payload) => requests.handle(context, kind, payload),
    retainedQuota: backends.retainedQuota,
    notifyRefusal: (context, reason) => {
      sendErrorReply(publisher, context.identity, new IntercomError('forbidden', reason))
        .catch((err: unknown) => logger.warn({ err }, 'could not send a refusal'))
    }
  })
  if (metrics !== undefined) {
    countMqttConnections(broker.aedes, broker.contexts, metrics)
    countSlowClients(broker.slowClients, metrics)
  }
  const publisher = createPublisher(broker.aedes, {
    onListenerError: (err, topic) => logger.error({ err, topic }, 'a publish listener failed'),
    onDeliveryError: (err, topic) => logger.debug({ err: err.message, topic }, 'a delivery failed after its publish was handed to the broker')
  })
  closeConnectionsAtTokenExpiry(broker.contexts, logger)
  // Removed or re-keyed identities sign in again, or not at all: on every node, at each change.
  directory.onChange(({ diff }) => {
    const closed = closeConnectionsOf(broker.aedes, broker.contexts, new Set([...diff.removed, ...diff.rekeyed]))
    if (closed > 0) logger.info({ closed }, 'MQTT connections of removed or re-keyed identities closed')
  })
  // A sign-in that was checked just before its identity was removed does not outlive the removal.
  broker.contexts.onAuthenticated((client, context) => {
    if (!directory.has(context.identity.name)) client.close()
  })
  const requests = createRequestRouter({ publisher, logger, maxPayloadBytes: config.MAX_PAYLOAD_BYTES })

  const credentialSetup = credentialOptionsFromConfig(config)
  if (credentialSetup.demo.length > 0) {
    logger.warn({ providers: credentialSetup.demo }, `using DEMO media credentials for ${credentialSetup.demo.join(' and ')}: set TRTC_SDK_APP_ID/TRTC_SECRET_KEY and AGORA_APP_ID/AGORA_APP_CERTIFICATE for real calls`)
  }
  const credentials = createCredentials(credentialSetup.options)
  // Before the calls: an invite's delivery asks whether the resident has a connection.
  const pushBackend = await createPushBackend({
    redis: redisAddressOf(config),
    nodeId: id,
    vapid: { publicKey: config.PUSH_VAPID_PUBLIC_KEY, privateKey: config.PUSH_VAPID_PRIVATE_KEY, subject: config.PUSH_VAPID_SUBJECT },
    demo: config.DEMO_CREDENTIALS,
    logger
  })
  const { callStore, rateLimiter, statusStore, dndStore } = backends
  const calls: CallService = new CallService({
    store: callStore,
    publisher,
    directory,
    dnd: dndStore,
    isOnline: (residentId) => pushBackend.connections.isOnline(residentId),
    credentials,
    rateLimiter,
    rateLimitPerSecond: config.RATE_LIMIT_PER_SECOND,
    timing: { ringTimeoutMs: config.RING_TIMEOUT_MS, maxCallMs: config.MAX_CALL_MS, offlineGraceMs: config.OFFLINE_GRACE_MS, unlockCooldownMs: config.UNLOCK_COOLDOWN_MS, unlockHangupMs: config.UNLOCK_HANGUP_MS, callWarningMs: config.CALL_WARNING_MS, maxExtensions: config.MAX_EXTENSIONS },
    logger,
    onDeadline: (at) => timers.wake(at),
    observer: createCallObserver({ logger, ...(metrics === undefined ? {} : { metrics }) }),
    ...options.callTestHooks
  })
  const timers = startTimerLoop({
    store: callStore,
    fire: (callId, timer) => calls.fireTimer(callId, timer),
    logger,
    leaseMs: TIMER_LEASE_MS,
    pollMs: TIMER_POLL_MS
  })
  registerCallRequests(requests, calls)

  const statusFeed = createStatusFeed({
    store: statusStore,
    publisher,
    rateLimit: { limiter: backends.statusRateLimiter, perSecond: config.STATUS_UPDATES_PER_SECOND },
    bounds: { maxValueBytes: config.STATUS_MAX_VALUE_BYTES, maxStatusBytes: config.STATUS_MAX_BYTES }
  })
  const presence = startPresence({
    broker: broker.aedes,
    contexts: broker.contexts,
    feed: statusFeed,
    logger,
    onDeviceOnline: (deviceId) => calls.devicePresence(deviceId, true),
    onDeviceOffline: (deviceId) => calls.devicePresence(deviceId, false)
  })
  backends.sweepPresence(async (deviceId, connectionId) => {
    const change = await statusFeed.connectionClosed(deviceId, connectionId)
    if (change.changed) await calls.devicePresence(deviceId, false)
  })
  requests.on('status_report', createStatusReportHandler(statusFeed))
  const sendSystemMessage = createSystemMessenger({ publisher, directory })

  const deliveryMetrics = metrics === undefined ? undefined : createDeliveryMetrics(metrics)
  // Webhook URLs and Web Push endpoints are chosen by clients: the node does not send to its own networks for them.
  const outbound = createOutboundGuard({ allow: parseNetworks(config.OUTBOUND_ALLOW_NETWORKS) })
  // Webhooks: a consumer of the publisher's tap, with a store of its own.
  const webhookBackend = createWebhookBackend(redisAddressOf(config), logger)
  const webhooks = startWebhooks({
    store: webhookBackend.store,
    publisher,
    logger: logger.child({ component: 'webhooks' }),
    limits: { maxWebhooks: config.WEBHOOK_MAX_COUNT, maxPendingPerWebhook: config.WEBHOOK_MAX_PENDING, maxBodyBytes: WEBHOOK_MAX_BODY_BYTES, maxIntake: WEBHOOK_MAX_INTAKE },
    retry: { baseMs: config.WEBHOOK_RETRY_BASE_MS, maxDelayMs: WEBHOOK_MAX_RETRY_DELAY_MS, windowMs: config.WEBHOOK_RETRY_MS },
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    concurrency: WEBHOOK_CONCURRENCY,
    pollMs: WEBHOOK_POLL_MS,
    ...(deliveryMetrics === undefined ? {} : { report: deliveryMetrics.webhooks }),
    outbound,
    finalSession: async (callId) => {
      const session = await callStore.get(callId)
      return session === null ? null : viewOf(session, null)
    }
  })

  // Push: another consumer of the tap, fed by a registry of resident connections.
  const untrackResidents = trackResidentConnections({ broker: broker.aedes, contexts: broker.contexts, registry: pushBackend.connections, logger })
  const pushChannels = pushChannelsFromConfig(config, pushBackend.vapid)
  const pushes = startPushDispatcher({
    publisher,
    store: pushBackend.store,
    connections: pushBackend.connections,
    channels: pushChannels,
    logger: logger.child({ component: 'push' }),
    maxQueue: config.PUSH_MAX_QUEUE,
    concurrency: PUSH_CONCURRENCY,
    retryBaseMs: config.PUSH_RETRY_BASE_MS,
    onFailed: (failure) => webhooks.emit('push.failed', orderKeys.call(failure.call_id), { ...failure }),
    onInvitePushed: (callId, residentId) => {
      calls.delivered(callId, residentId, 'push').catch((err: unknown) => logger.warn({ err, callId, residentId }, 'could not record a push delivery'))
    },
    ...(deliveryMetrics === undefined ? {} : { report: deliveryMetrics.push })
  })
  deliveryMetrics?.watch({ pushQueueDepth: () => pushes.depth, webhookBacklog: () => webhooks.backlog() })

  const servers: Server[] = []
  const connectionGate = createConnectionGate({
    maxTotal: config.MAX_CONNECTIONS,
    maxPerAddress: config.MAX_CONNECTIONS_PER_ADDRESS,
    onRefused: ({ reason, address, count }) => logger.warn({ reason, address, refused: count }, 'connections refused at accept: connection cap reached')
  })
  const mqttPackets = {
    maxPacketBytes: config.MQTT_MAX_PACKET_BYTES,
    maxConnectBytes: config.MQTT_MAX_CONNECT_BYTES,
    maxFiltersPerSubscribe: config.MQTT_MAX_FILTERS_PER_SUBSCRIBE
  }
  const socketBufferBytes = slowPastBytes(outgoingLimits)
  const listener = {
    broker: broker.aedes,
    socketBufferBytes,
    host: config.HOST,
    gate: connectionGate,
    packets: {
      ...mqttPackets,
      onProblem: (problem: PacketProblem) => {
        if (problem.kind === 'protocol_level') logger.debug({ reason: problem.reason }, 'MQTT connection refused: protocol level')
        else logger.warn({ reason: problem.reason }, 'MQTT connection closed: packet too large, malformed or a SUBSCRIBE flood')
      }
    }
  }
  const mqtt = await listenAs('MQTT_PORT', config.MQTT_PORT, config.HOST, () => listenMqtt({ ...listener, port: config.MQTT_PORT }))
  servers.push(mqtt.server)
  let mqttsPort: number | undefined
  if (config.MQTTS_PORT !== undefined && tlsOptions !== null) {
    const mqttsConfigured = config.MQTTS_PORT
    const mqtts = await listenAs('MQTTS_PORT', mqttsConfigured, config.HOST, () => listenMqtts({ ...listener, port: mqttsConfigured }, tlsOptions))
    servers.push(mqtts.server)
    mqttsPort = mqtts.port
  }

  const httpOptions: HttpAppOptions = {
    logger,
    authenticator,
    broker: broker.aedes,
    bodyLimit: config.MAX_PAYLOAD_BYTES,
    mqttPackets,
    mqttSocketBufferBytes: socketBufferBytes,
    timeouts: { idleMs: config.HTTP_IDLE_TIMEOUT_MS, requestMs: config.HTTP_REQUEST_TIMEOUT_MS },
    connectionGate,
    version: VERSION,
    health: () => ({ node: id, version: VERSION, store: backends.kind, clients: broker.aedes.connectedClients }),
    readiness: () => readinessOf({
      ...(backends.kind === 'redis' ? { redis: backends.up() } : {}),
      listeners: servers.every((server) => server.listening) && httpServers.every((server) => server.listening)
    }),
    ...(metrics === undefined ? {} : { metrics: { registry: metrics.registry, ...(config.METRICS_TOKEN === undefined ? {} : { token: config.METRICS_TOKEN }) } }),
    corsOrigins: corsOriginsOf(config),
    routes: async (app) => {
      await app.register(callRoutes, { calls })
      await app.register(callRecords, { store: callStore, rateLimiter, perSecond: config.RATE_LIMIT_PER_SECOND })
      await app.register(mediaRoutes, { credentials, calls })
      await app.register(statusRoutes, { directory, store: statusStore, feed: statusFeed })
      await app.register(dndRoutes, { directory, store: dndStore, rateLimiter, perSecond: config.RATE_LIMIT_PER_SECOND, maxMs: config.DND_MAX_MS })
      await app.register(systemRoutes, { send: sendSystemMessage })
      await app.register(webhookRoutes, { webhooks })
      await app.register(pushRoutes, {
        directory,
        store: pushBackend.store,
        vapidPublicKey: pushBackend.vapid?.publicKey ?? null,
        kinds: new Set(pushChannels.map((c) => c.kind)),
        maxPerResident: config.PUSH_MAX_SUBSCRIPTIONS,
        outbound
      })
      await app.register(adminRoutes, { live, directoryBodyLimit: config.ADMIN_DIRECTORY_MAX_BYTES })
    }
  }
  const http = await buildHttpApp(httpOptions)
  const httpServers: Server[] = [http.server]
  const httpPort = await listenAs('HTTP_PORT', config.HTTP_PORT, config.HOST, () => listenHttp(http, config.HTTP_PORT, config.HOST))
  // HTTPS is a second app with the same routes on its own port: one Node server speaks either HTTP or HTTPS.
  const https = config.HTTPS_PORT !== undefined && tlsOptions !== null ? await buildHttpApp({ ...httpOptions, https: tlsOptions }) : null
  let httpsPort: number | undefined
  if (https !== null && config.HTTPS_PORT !== undefined) {
    const httpsConfigured = config.HTTPS_PORT
    httpServers.push(https.server)
    httpsPort = await listenAs('HTTPS_PORT', httpsConfigured, config.HOST, () => listenHttp(https, httpsConfigured, config.HOST))
  }
  const ports = {
    mqtt: mqtt.port,
    http: httpPort,
    ...(mqttsPort === undefined ? {} : { mqtts: mqttsPort }),
    ...(httpsPort === undefined ? {} : { https: httpsPort })
  }
  logger.info({ node: id, ports }, `intercom-broker listening: mqtt ${ports.mqtt}, http+ws ${ports.http}${mqttsPort === undefined ? '' : `, mqtts ${mqttsPort}`}${httpsPort === undefined ? '' : `, https+wss ${httpsPort}`}`)

  let closing: Promise<void> | null = null
  async function close (): Promise<void> {
    for (const server of servers) server.close()
    await timers.stop()
    await presence.close()
    await new Promise<void>((resolve) => broker.aedes.close(() => resolve()))
    await Promise.all(servers.map(closeServer))
    await http.close()
    await https?.close()
    untrackResidents()
    await pushes.close()
    await pushBackend.close()
    await webhooks.close()
    await webhookBackend.close()
    await callStore.close()
    await rateLimiter.close()
    await backends.statusRateLimiter.close()
    await backends.signInThrottle.close()
    await backends.retainedQuota.close()
    await backends.close()
    await directoryStore.close()
  }
  return {
    id,
    ports,
    authenticator,
    async reloadDirectory () {
      if (backends.kind === 'redis') return false
      await live.reload()
      return true
    },
    close: () => (closing ??= close())
  }
}
