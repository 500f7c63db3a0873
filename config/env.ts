import path from 'node:path'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { parseSentinels, type RedisAddress } from '../lib/cluster/redis-address'

/** Where the demo directory lives: `config/` beside the compiled `dist/`. */
export const DEMO_DIRECTORY = path.resolve(__dirname, '..', '..', 'config', 'demo-directory.json')

const Port = (defaultPort: number, description: string) => Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort, description })
const Millis = (defaultMs: number, description: string) => Type.Integer({ minimum: 1, default: defaultMs, description })

/**
 * Every setting of a node, read from the environment. One schema gives the
 * defaults, the validation at start-up and the README's configuration table.
 */
export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '0.0.0.0', description: 'Address the MQTT, MQTTS and HTTP servers bind to.' }),
  MQTT_PORT: Port(1883, 'MQTT over TCP; 0 picks a free port.'),
  HTTP_PORT: Port(3000, 'HTTP routes, /docs, /metrics and MQTT over WebSocket (/mqtt); 0 picks a free port.'),
  MQTTS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'MQTT over TLS; needs TLS_CERT and TLS_KEY.' })),
  HTTPS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'HTTP routes and MQTT over secure WebSocket (/mqtt) over TLS; needs TLS_CERT and TLS_KEY.' })),
  TLS_CERT: Type.Optional(Type.String({ minLength: 1, description: 'Path of the PEM certificate (chain) for MQTTS and HTTPS.' })),
  TLS_KEY: Type.Optional(Type.String({ minLength: 1, description: 'Path of the PEM private key for MQTTS and HTTPS.' })),
  CORS_ORIGINS: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'Comma-separated browser origins (https://app.example.com) allowed to call the HTTP routes.' })),
  METRICS_ENABLED: Type.Boolean({ default: true, description: 'Serve GET /metrics (Prometheus) and count for it.' }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, maxLength: 256, description: 'When set, GET /metrics requires Authorization: Bearer <token>.' })),
  INTERCOM_DIRECTORY: Type.String({ minLength: 1, default: DEMO_DIRECTORY, description: 'Path of the directory file (identities).' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Puts broker state, routing and calls in Redis; nodes sharing it form one cluster.' })),
  REDIS_SENTINELS: Type.Optional(Type.String({ pattern: '^[^,\\s]+:[0-9]{1,5}(,[^,\\s]+:[0-9]{1,5})*$', description: 'host:port,host:port of Redis Sentinels: the cluster follows the primary they name across failovers; needs REDIS_SENTINEL_NAME.' })),
  REDIS_SENTINEL_NAME: Type.Optional(Type.String({ minLength: 1, description: 'Name of the primary in the sentinels\' configuration.' })),
  REDIS_SENTINEL_PASSWORD: Type.Optional(Type.String({ minLength: 1, description: 'Password of the sentinels themselves (the primary\'s goes in REDIS_URL).' })),
  NODE_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Name of the node in logs and /health; each start adds a random suffix to make the broker id unique.' })),
  RING_TIMEOUT_MS: Millis(30_000, 'A ringing call ends with timeout after this.'),
  MAX_CALL_MS: Millis(7_200_000, 'A connected call ends with max_duration after this.'),
  OFFLINE_GRACE_MS: Millis(30_000, 'A connected call whose device went offline ends after this.'),
  CALL_RETENTION_MS: Millis(7 * 24 * 3600 * 1000, 'Ended calls stay readable this long.'),
  UNLOCK_HANGUP_MS: Type.Integer({ minimum: 0, default: 5000, description: 'A connected call ends `unlocked` this long after its first unlock; 0 keeps it up.' }),
  DND_MAX_MS: Type.Integer({ minimum: 60_000, default: 30 * 24 * 3600 * 1000, description: 'The latest `until` of a do-not-disturb setting, from now (default 30 days); without `until` it lasts until turned off.' }),
  CALL_WARNING_MS: Type.Integer({ minimum: 0, default: 10_000, description: 'Both parties get ending_soon this long before max_duration; 0 = no warning.' }),
  MAX_EXTENSIONS: Type.Integer({ minimum: 0, maximum: 100, default: 3, description: 'How often the answerer may extend a call by MAX_CALL_MS (extend); 0 = never.' }),
  UNLOCK_COOLDOWN_MS: Type.Integer({ minimum: 0, default: 2000, description: 'An unlock within this long of the previous one on the same call is refused (409); 0 = off.' }),
  MEMORY_MAX_ENDED_CALLS: Type.Integer({ minimum: 1, default: 100_000, description: 'Without Redis: ended calls kept at most; past it the oldest ended go first (active calls are never dropped).' }),
  MEMORY_MAX_ENDED_CALL_BYTES: Type.Integer({ minimum: 1024, default: 104_857_600, description: 'Without Redis: total JSON size of the ended calls kept; past it the oldest ended go first.' }),
  RATE_LIMIT_PER_SECOND: Type.Integer({ minimum: 1, default: 50, description: 'Control actions per second per identity.' }),
  SIGN_IN_FAILURES_PER_IDENTITY: Type.Integer({ minimum: 1, default: 10, description: 'Failed sign-ins per identity name in SIGN_IN_THROTTLE_MS before the name is refused until the window ends.' }),
  SIGN_IN_FAILURES_PER_ADDRESS: Type.Integer({ minimum: 1, default: 50, description: 'Failed sign-ins per source address in SIGN_IN_THROTTLE_MS before the address is refused until the window ends.' }),
  SIGN_IN_THROTTLE_MS: Millis(60_000, 'Window in which failed sign-ins are counted; a throttled name or address waits for its end.'),
  SIGN_IN_CONCURRENT_CHECKS: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'Credential checks (each up to one scrypt) running at once.' }),
  SIGN_IN_MAX_WAITING: Type.Integer({ minimum: 0, default: 256, description: 'Credential checks waiting for a place; past it a sign-in is refused as busy.' }),
  SIGN_IN_MAX_WAITING_PER_ADDRESS: Type.Integer({ minimum: 0, default: 8, description: 'Credential checks waiting for a place per source address.' }),
  STATUS_UPDATES_PER_SECOND: Type.Integer({ minimum: 1, default: 5, description: 'Status reports and updates per second per device.' }),
  STATUS_MAX_VALUE_BYTES: Type.Integer({ minimum: 16, default: 1024, description: 'Largest JSON of one device status property value.' }),
  STATUS_MAX_BYTES: Type.Integer({ minimum: 256, default: 8192, description: 'Largest JSON of a whole device status.' }),
  MQTT_MAX_PACKET_BYTES: Type.Integer({ minimum: 1024, maximum: 268_435_455, default: 262_144, description: 'Largest MQTT packet a client may send; larger closes the connection.' }),
  MQTT_MAX_CONNECT_BYTES: Type.Integer({ minimum: 256, maximum: 268_435_455, default: 4096, description: 'Largest first packet (the CONNECT, before login); larger closes the connection.' }),
  MQTT_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000, description: 'A connection without a CONNECT by then is closed.' }),
  MQTT_MAX_KEEPALIVE_S: Type.Integer({ minimum: 1, maximum: 65_535, default: 300, description: 'Longest MQTT keep-alive; 0 (none) or longer is served as this, so a silent client goes after 1.5 times it.' }),
  MQTT_MAX_FILTERS_PER_SUBSCRIBE: Type.Integer({ minimum: 1, maximum: 65_535, default: 32, description: 'Filters in one SUBSCRIBE; more is a flood and closes the connection.' }),
  MQTT_MAX_SUBSCRIPTIONS: Type.Integer({ minimum: 1, maximum: 65_535, default: 64, description: 'Subscriptions of one connection; a filter past it is refused (SUBACK 0x80).' }),
  MQTT_CLIENT_QUEUE_BYTES: Type.Integer({ minimum: 65_536, default: 1_048_576, description: 'Bytes waiting for one slow client; past it the client is disconnected (its QoS 0 messages are dropped before).' }),
  MQTT_CLIENT_QUEUE_MESSAGES: Type.Integer({ minimum: 1, default: 1000, description: 'QoS 1 messages queued for one client whose socket is full; past it the client is disconnected.' }),
  MQTT_RETAINED_MAX_BYTES: Type.Integer({ minimum: 1, maximum: 268_435_455, default: 16_384, description: 'Largest payload a client may leave retained; a larger retained publish is dropped.' }),
  MQTT_RETAINED_MAX_PER_IDENTITY: Type.Integer({ minimum: 1, default: 100, description: 'Retained topics one client identity may hold; an empty retained publish frees one.' }),
  MQTT_RETAINED_MAX_TOTAL: Type.Integer({ minimum: 1, default: 10_000, description: 'Retained topics all clients together may hold (across the cluster with Redis).' }),
  OUTBOUND_ALLOW_NETWORKS: Type.String({ default: '', description: 'Comma-separated CIDR networks webhook URLs and Web Push endpoints may reach although loopback, private, link-local or multicast (e.g. 10.20.0.0/16).' }),
  MAX_CONNECTIONS: Type.Integer({ minimum: 1, default: 50_000, description: 'Open connections of a node (MQTT, MQTTS, HTTP and WebSocket together); more are closed at accept.' }),
  MAX_CONNECTIONS_PER_ADDRESS: Type.Integer({ minimum: 1, default: 256, description: 'Open connections from one source address; more are closed at accept.' }),
  HTTP_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000, description: 'An HTTP connection idle this long (keep-alive included) is closed.' }),
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 30_000, description: 'An HTTP request (headers and body) not fully received by then is answered 408 and closed.' }),
  MAX_PAYLOAD_BYTES: Type.Integer({ minimum: 256, maximum: 1_048_576, default: 16_384, description: 'Largest HTTP body and MQTT request payload.' }),
  TRTC_SDK_APP_ID: Type.Optional(Type.Integer({ minimum: 1, description: 'Tencent TRTC application id; with TRTC_SECRET_KEY.' })),
  TRTC_SECRET_KEY: Type.Optional(Type.String({ minLength: 1, description: 'Tencent TRTC secret key for UserSigs.' })),
  TRTC_USERSIG_EXPIRE: Type.Integer({ minimum: 60, default: 86_400, description: 'UserSig lifetime in seconds.' }),
  AGORA_APP_ID: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$', description: 'Agora project id (32 hex); with AGORA_APP_CERTIFICATE.' })),
  AGORA_APP_CERTIFICATE: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$', description: 'Agora app certificate (32 hex) for AccessToken2.' })),
  AGORA_TOKEN_EXPIRE: Type.Integer({ minimum: 60, maximum: 86_400, default: 3600, description: 'RTC token lifetime in seconds.' }),
  DEMO_CREDENTIALS: Type.Boolean({ default: true, description: 'Use demo TRTC/Agora keys when none are set (warns at start).' }),
  WEBHOOK_RETRY_MS: Type.Integer({ minimum: 0, default: 86_400_000, description: 'A failed webhook delivery is retried for this long after its event (at least one attempt).' }),
  WEBHOOK_RETRY_BASE_MS: Type.Integer({ minimum: 10, default: 1000, description: 'Wait before the first webhook retry; doubled for each further one, up to an hour.' }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000, description: 'Longest wait for a webhook receiver to answer one delivery.' }),
  WEBHOOK_MAX_COUNT: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Webhooks that may exist in the cluster.' }),
  WEBHOOK_MAX_PENDING: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Deliveries waiting per webhook; beyond, new events for it are dropped.' }),
  PUSH_VAPID_PUBLIC_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{87}$', description: 'Web Push VAPID public key (base64url, uncompressed P-256 point); with PUSH_VAPID_PRIVATE_KEY.' })),
  PUSH_VAPID_PRIVATE_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'Web Push VAPID private key (base64url); never logged.' })),
  PUSH_VAPID_SUBJECT: Type.String({ pattern: '^(mailto:|https://)', default: 'mailto:intercom-broker@localhost', description: 'Contact sent to push services in the VAPID token (mailto: or https: URL).' }),
  PUSH_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000, description: 'Longest wait for a push service to answer one push.' }),
  PUSH_RETRY_BASE_MS: Type.Integer({ minimum: 10, default: 1000, description: 'Wait before retrying a push after a transient failure; doubled each time, until the push expires.' }),
  PUSH_MAX_SUBSCRIPTIONS: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Push subscriptions per resident.' }),
  PUSH_MAX_QUEUE: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Pushes waiting on one node; beyond, new pushes are dropped.' }),
  AUTH_JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'Shared secret (at least 32 characters) for HS256 sign-in tokens.' })),
  AUTH_JWT_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1, description: 'PEM public key, or the path of a PEM file, for RS256 or ES256 sign-in tokens.' })),
  AUTH_JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1, description: 'Required `aud` of sign-in tokens.' })),
  AUTH_JWT_ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'Required `iss` of sign-in tokens.' })),
  ADMIN_DIRECTORY_MAX_BYTES: Type.Integer({ minimum: 1024, maximum: 268_435_456, default: 33_554_432, description: 'Largest body of PUT /api/admin/directory (a whole directory).' }),
  APNS_KEY_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{10}$', description: 'APNs signing key id; with APNS_TEAM_ID, APNS_KEY and APNS_BUNDLE_ID.' })),
  APNS_TEAM_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{10}$', description: 'Apple developer team id.' })),
  APNS_KEY: Type.Optional(Type.String({ minLength: 1, description: 'The APNs .p8 signing key: its PEM text, or the path of the file.' })),
  APNS_BUNDLE_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]{1,155}$', description: 'The app bundle id; VoIP pushes go to <bundle id>.voip.' })),
  APNS_HOST: Type.String({ pattern: '^https?://', default: 'https://api.push.apple.com', description: 'APNs host for production device tokens.' }),
  APNS_SANDBOX_HOST: Type.String({ pattern: '^https?://', default: 'https://api.sandbox.push.apple.com', description: 'APNs host for sandbox (development) device tokens.' }),
  FCM_SERVICE_ACCOUNT: Type.Optional(Type.String({ minLength: 1, description: 'Firebase service-account key: its JSON text, or the path of the file.' })),
  FCM_ENDPOINT: Type.String({ pattern: '^https?://', default: 'https://fcm.googleapis.com', description: 'FCM HTTP v1 API base URL.' }),
  FCM_TOKEN_URI: Type.Optional(Type.String({ pattern: '^https?://', description: 'OAuth2 token endpoint; the service account\'s token_uri when unset.' })),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'Least severe log level written (JSON lines on standard output).' })
})

export type Config = Static<typeof ConfigSchema>

/** One line per variable, `NAME (default D)  description`, for `--help`: the schema is the only list. */
export function describeEnvironment (): string {
  const properties = ConfigSchema.properties as Record<string, { default?: unknown, description?: string }>
  const names = Object.keys(properties)
  const width = Math.max(...names.map((name) => name.length))
  return names.map((name) => {
    const property = properties[name] ?? {}
    const fallback = property.default === undefined ? 'unset' : `default ${name === 'INTERCOM_DIRECTORY' ? 'the demo directory' : String(property.default)}`
    return `  ${name.padEnd(width)}  ${property.description ?? ''} (${fallback})`
  }).join('\n')
}

/** `scheme://host[:port]`, as a browser sends it in `Origin`. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:]+\](:\d{1,5})?$/

/** The origins of `CORS_ORIGINS`, without blanks. */
export function corsOriginsOf (config: Pick<Config, 'CORS_ORIGINS'>): string[] {
  return (config.CORS_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter((origin) => origin !== '')
}

export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

interface AjvIssue { instancePath: string, message?: string, params: { allowedValues?: unknown[] } }

function describeEnvErrors (err: unknown): string {
  const issues = (err as { errors?: AjvIssue[] }).errors
  if (!Array.isArray(issues)) return (err as Error).message
  return issues.map((issue) => {
    const name = issue.instancePath.replace(/^\//, '')
    const allowed = issue.params.allowedValues ? ` (${issue.params.allowedValues.join(', ')})` : ''
    return `${name} ${issue.message ?? 'is invalid'}${allowed}`
  }).join('; ')
}

/**
 * Reads and validates the configuration. A bad value throws a ConfigError
 * naming the variable and what it accepts.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  let config: Config
  try {
    config = envSchema<Config>({ schema: ConfigSchema, data: env, env: false, dotenv: false })
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${describeEnvErrors(err)}`)
  }
  const tlsFiles = [config.TLS_CERT, config.TLS_KEY].filter((v) => v !== undefined).length
  const tlsPorts = [config.MQTTS_PORT, config.HTTPS_PORT].filter((v) => v !== undefined).length
  if (tlsFiles === 1 || (tlsFiles === 2) !== (tlsPorts > 0)) {
    throw new ConfigError('invalid configuration: TLS_CERT and TLS_KEY must be set together, and with MQTTS_PORT and/or HTTPS_PORT (or none of them)')
  }
  const badOrigin = corsOriginsOf(config).find((origin) => !ORIGIN.test(origin))
  if (badOrigin !== undefined) {
    throw new ConfigError(`invalid configuration: CORS_ORIGINS entry "${badOrigin}" is not an origin; write scheme://host[:port], comma-separated`)
  }
  if ((config.TRTC_SDK_APP_ID === undefined) !== (config.TRTC_SECRET_KEY === undefined)) {
    throw new ConfigError('invalid configuration: TRTC_SDK_APP_ID and TRTC_SECRET_KEY must be set together')
  }
  if ((config.REDIS_SENTINELS === undefined) !== (config.REDIS_SENTINEL_NAME === undefined)) {
    throw new ConfigError('invalid configuration: REDIS_SENTINELS and REDIS_SENTINEL_NAME must be set together')
  }
  if ((config.AGORA_APP_ID === undefined) !== (config.AGORA_APP_CERTIFICATE === undefined)) {
    throw new ConfigError('invalid configuration: AGORA_APP_ID and AGORA_APP_CERTIFICATE must be set together')
  }
  if ((config.PUSH_VAPID_PUBLIC_KEY === undefined) !== (config.PUSH_VAPID_PRIVATE_KEY === undefined)) {
    throw new ConfigError('invalid configuration: PUSH_VAPID_PUBLIC_KEY and PUSH_VAPID_PRIVATE_KEY must be set together')
  }
  if (config.AUTH_JWT_SECRET !== undefined && config.AUTH_JWT_PUBLIC_KEY !== undefined) {
    throw new ConfigError('invalid configuration: set AUTH_JWT_SECRET (HS256) or AUTH_JWT_PUBLIC_KEY (RS256/ES256), not both')
  }
  const apns = [config.APNS_KEY_ID, config.APNS_TEAM_ID, config.APNS_KEY, config.APNS_BUNDLE_ID].filter((v) => v !== undefined).length
  if (apns !== 0 && apns !== 4) {
    throw new ConfigError('invalid configuration: APNS_KEY_ID, APNS_TEAM_ID, APNS_KEY and APNS_BUNDLE_ID must be set together (or none of them)')
  }
  return config
}

/**
 * Where the cluster's Redis is, or null for a node alone: behind sentinels when
 * REDIS_SENTINELS is set (REDIS_URL then gives only the primary's password and
 * database), else at REDIS_URL.
 */
export function redisAddressOf (config: Config): RedisAddress | null {
  if (config.REDIS_SENTINELS !== undefined && config.REDIS_SENTINEL_NAME !== undefined) {
    return {
      sentinels: parseSentinels(config.REDIS_SENTINELS),
      name: config.REDIS_SENTINEL_NAME,
      ...(config.REDIS_SENTINEL_PASSWORD === undefined ? {} : { sentinelPassword: config.REDIS_SENTINEL_PASSWORD }),
      ...(config.REDIS_URL === undefined ? {} : { url: config.REDIS_URL })
    }
  }
  return config.REDIS_URL ?? null
}
