import { readFileSync } from 'node:fs'
import { globalAgent } from 'node:https'
import type { Config } from '../../config/env'
import { IntercomError } from '../errors'
import { createApnsChannel } from './apns'
import type { PushChannel } from './channel'
import { createFcmChannel, type ServiceAccount } from './fcm'
import type { VapidKeys } from './webpush'
import { createWebPushWorkerChannel } from './webpush-worker'

/** The PEM itself, or the file it is in. */
function pemOf (value: string): string {
  if (value.includes('-----BEGIN')) return value
  try {
    return readFileSync(value, 'utf8')
  } catch (err) {
    throw new IntercomError('internal', `APNS_KEY is neither a PEM key nor a readable file (${(err as Error).message}); set the .p8 key's text or path`)
  }
}

/** The service-account JSON itself, or the file it is in; only the fields the exchange needs are checked. */
function serviceAccountOf (value: string): ServiceAccount {
  let text = value
  try {
    if (!value.trimStart().startsWith('{')) text = readFileSync(value, 'utf8')
    const account = JSON.parse(text) as Partial<ServiceAccount>
    if (typeof account.project_id === 'string' && typeof account.client_email === 'string' && typeof account.private_key === 'string') {
      return account as ServiceAccount
    }
  } catch (err) {
    throw new IntercomError('internal', `FCM_SERVICE_ACCOUNT is neither service-account JSON nor a readable file of it (${(err as Error).message})`)
  }
  throw new IntercomError('internal', 'FCM_SERVICE_ACCOUNT lacks project_id, client_email or private_key; use the key file Firebase gives for a service account')
}

/** The push channels this node's configuration enables. */
export function pushChannelsFromConfig (config: Config, vapid: VapidKeys | null): PushChannel[] {
  const channels: PushChannel[] = []
  if (vapid !== null) {
    const { ca } = globalAgent.options
    channels.push(createWebPushWorkerChannel({ vapid, timeoutMs: config.PUSH_TIMEOUT_MS, allowNetworks: config.OUTBOUND_ALLOW_NETWORKS, ...(ca === undefined ? {} : { ca }) }))
  }
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
  if (config.FCM_SERVICE_ACCOUNT !== undefined) {
    channels.push(createFcmChannel({
      account: serviceAccountOf(config.FCM_SERVICE_ACCOUNT),
      endpoint: config.FCM_ENDPOINT,
      ...(config.FCM_TOKEN_URI === undefined ? {} : { tokenUri: config.FCM_TOKEN_URI }),
      timeoutMs: config.PUSH_TIMEOUT_MS
    }))
  }
  return channels
}
