import { readFileSync } from 'node:fs'
import type { Config } from '../../config/env'
import { IntercomError } from '../errors'
import { createApnsChannel } from './apns'
import type { PushChannel } from './channel'
import { createWebPushChannel, type VapidKeys } from './webpush'

/** The PEM itself, or the file it is in. */
function pemOf (value: string): string {
  if (value.includes('-----BEGIN')) return value
  try {
    return readFileSync(value, 'utf8')
  } catch (err) {
    throw new IntercomError('internal', `APNS_KEY is neither a PEM key nor a readable file (${(err as Error).message}); set the .p8 key's text or path`)
  }
}

/** The push channels this node's configuration enables. */
export function pushChannelsFromConfig (config: Config, vapid: VapidKeys | null): PushChannel[] {
  const channels: PushChannel[] = []
  if (vapid !== null) channels.push(createWebPushChannel({ vapid, timeoutMs: config.PUSH_TIMEOUT_MS }))
  if (config.APNS_KEY_ID !== undefined && config.APNS_TEAM_ID !== undefined && config.APNS_KEY !== undefined && config.APNS_BUNDLE_ID !== undefined) {
    channels.push(createApnsChannel({
      keyId: config.APNS_KEY_ID,
      teamId: config.APNS_TEAM_ID,
      key: pemOf(config.APNS_KEY),
      bundleId: config.APNS_BUNDLE_ID,
      hosts: { production: config.APNS_HOST, sandbox: config.APNS_SANDBOX_HOST },
      timeoutMs: config.PUSH_TIMEOUT_MS
    }))
  }
  return channels
}
