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
  UNLOCK_HANGUP_MS: Type.Integer({ minimum: 0, default: 5000, description: 'A connected call ends `unlocked` this long after its first unlock; 0 keeps it up.' }),
  UNLOCK_COOLDOWN_MS: Type.Integer({ minimum: 0, default: 2000, description: 'An unlock within this long of the previous one on the same call is refused (409); 0 = off.' }),
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
  return config
}
