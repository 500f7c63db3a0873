import { SECRETS } from './node'

export interface HttpResult {
  status: number
  body: { code: number, message: string, error?: string, data: any }
  headers: Headers
}

export function basic (name: string, secret = SECRETS[name] ?? ''): string {
  return `Basic ${Buffer.from(`${name}:${secret}`).toString('base64')}`
}

/** A real HTTP request; `as` is an identity name (demo secret) or a full Authorization header. */
export async function request (base: string, method: string, path: string, options: { as?: string, body?: unknown, raw?: string, headers?: Record<string, string> } = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.as !== undefined) headers.authorization = options.as.includes(' ') ? options.as : basic(options.as)
  let body: string | undefined
  if (options.raw !== undefined) {
    body = options.raw
    headers['content-type'] ??= 'application/json'
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers['content-type'] = 'application/json'
  }
  const response = await fetch(`${base}${path}`, { method, headers, body })
  const text = await response.text()
  let parsed: HttpResult['body']
  try {
    parsed = JSON.parse(text) as HttpResult['body']
  } catch {
    parsed = { code: -1, message: text, data: null }
  }
  return { status: response.status, body: parsed, headers: response.headers }
}

/** The node's open MQTT connections of one identity kind, as its metrics count them. */
export async function openConnections (base: string, kind: 'device' | 'resident' | 'service' | 'client'): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`intercom_mqtt_connections{kind="${kind}"}`))
  if (line === undefined) throw new Error(`no intercom_mqtt_connections for ${kind} in /metrics`)
  return Number(line.split(' ').pop())
}
