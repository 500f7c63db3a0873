import path from 'node:path'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'

/** Where the demo directory lives: `config/` beside the compiled `dist/`. */
export const DEMO_DIRECTORY = path.resolve(__dirname, '..', '..', 'config', 'demo-directory.json')

const Port = (defaultPort: number) => Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort })
const Millis = (defaultMs: number) => Type.Integer({ minimum: 1, default: defaultMs })

/**
 * Every setting of a node, read from the environment. One schema gives the
 * defaults, the validation at start-up and the README's configuration table.
 */
export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '0.0.0.0', description: 'Address the MQTT, MQTTS and HTTP servers bind to.' }),
  MQTT_PORT: Port(1883),
  HTTP_PORT: Port(3000),
  MQTTS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'MQTT over TLS; needs TLS_CERT and TLS_KEY.' })),
  TLS_CERT: Type.Optional(Type.String({ minLength: 1, description: 'Path of the PEM certificate (chain) for MQTTS.' })),
  TLS_KEY: Type.Optional(Type.String({ minLength: 1, description: 'Path of the PEM private key for MQTTS.' })),
  INTERCOM_DIRECTORY: Type.String({ minLength: 1, default: DEMO_DIRECTORY, description: 'Path of the directory file (identities).' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Puts broker state, routing and calls in Redis; nodes sharing it form one cluster.' })),
  NODE_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Name of the node in logs and /health; each start adds a random suffix to make the broker id unique.' })),
  RING_TIMEOUT_MS: Millis(30_000),
  MAX_CALL_MS: Millis(7_200_000),
  OFFLINE_GRACE_MS: Millis(30_000),
  CALL_RETENTION_MS: Millis(7 * 24 * 3600 * 1000),
  RATE_LIMIT_PER_SECOND: Type.Integer({ minimum: 1, default: 50, description: 'Control actions per second per identity.' }),
  MQTT_MAX_PACKET_BYTES: Type.Integer({ minimum: 1024, maximum: 268_435_455, default: 262_144, description: 'Largest MQTT packet a client may send; larger closes the connection.' }),
  MAX_PAYLOAD_BYTES: Type.Integer({ minimum: 256, maximum: 1_048_576, default: 16_384, description: 'Largest HTTP body and MQTT request payload.' }),
  TRTC_SDK_APP_ID: Type.Optional(Type.Integer({ minimum: 1 })),
  TRTC_SECRET_KEY: Type.Optional(Type.String({ minLength: 1 })),
  TRTC_USERSIG_EXPIRE: Type.Integer({ minimum: 60, default: 86_400, description: 'UserSig lifetime in seconds.' }),
  AGORA_APP_ID: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$' })),
  AGORA_APP_CERTIFICATE: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$' })),
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
  APNS_KEY_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{10}$', description: 'APNs signing key id; with APNS_TEAM_ID, APNS_KEY and APNS_BUNDLE_ID.' })),
  APNS_TEAM_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{10}$', description: 'Apple developer team id.' })),
  APNS_KEY: Type.Optional(Type.String({ minLength: 1, description: 'The APNs .p8 signing key: its PEM text, or the path of the file.' })),
  APNS_BUNDLE_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]{1,155}$', description: 'The app bundle id; VoIP pushes go to <bundle id>.voip.' })),
  APNS_HOST: Type.String({ pattern: '^https?://', default: 'https://api.push.apple.com', description: 'APNs host for production device tokens.' }),
  APNS_SANDBOX_HOST: Type.String({ pattern: '^https?://', default: 'https://api.sandbox.push.apple.com', description: 'APNs host for sandbox (development) device tokens.' }),
  FCM_SERVICE_ACCOUNT: Type.Optional(Type.String({ minLength: 1, description: 'Firebase service-account key: its JSON text, or the path of the file.' })),
  FCM_ENDPOINT: Type.String({ pattern: '^https?://', default: 'https://fcm.googleapis.com', description: 'FCM HTTP v1 API base URL.' }),
  FCM_TOKEN_URI: Type.Optional(Type.String({ pattern: '^https?://', description: 'OAuth2 token endpoint; the service account\'s token_uri when unset.' })),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' })
})

export type Config = Static<typeof ConfigSchema>

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
  const tls = [config.MQTTS_PORT, config.TLS_CERT, config.TLS_KEY].filter((v) => v !== undefined).length
  if (tls !== 0 && tls !== 3) {
    throw new ConfigError('invalid configuration: MQTTS_PORT, TLS_CERT and TLS_KEY must be set together (or none of them)')
  }
  if ((config.TRTC_SDK_APP_ID === undefined) !== (config.TRTC_SECRET_KEY === undefined)) {
    throw new ConfigError('invalid configuration: TRTC_SDK_APP_ID and TRTC_SECRET_KEY must be set together')
  }
  if ((config.AGORA_APP_ID === undefined) !== (config.AGORA_APP_CERTIFICATE === undefined)) {
    throw new ConfigError('invalid configuration: AGORA_APP_ID and AGORA_APP_CERTIFICATE must be set together')
  }
  if ((config.PUSH_VAPID_PUBLIC_KEY === undefined) !== (config.PUSH_VAPID_PRIVATE_KEY === undefined)) {
    throw new ConfigError('invalid configuration: PUSH_VAPID_PUBLIC_KEY and PUSH_VAPID_PRIVATE_KEY must be set together')
  }
  const apns = [config.APNS_KEY_ID, config.APNS_TEAM_ID, config.APNS_KEY, config.APNS_BUNDLE_ID].filter((v) => v !== undefined).length
  if (apns !== 0 && apns !== 4) {
    throw new ConfigError('invalid configuration: APNS_KEY_ID, APNS_TEAM_ID, APNS_KEY and APNS_BUNDLE_ID must be set together (or none of them)')
  }
  return config
}
