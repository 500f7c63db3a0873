import type { Directory } from '../directory/directory'
import type { Identity } from '../identity'
import { filterCovers, filterMatches, isValidFilter, isValidTopicName } from './filters'
import { REQUEST_FILTERS, SERVER_ONLY_FILTERS, topics } from './names'

/** What a client's request topic asks the server to do. */
export type RequestKind = 'call' | 'device_action' | 'status_report' | 'resident_action'

export type PublishVerdict =
  | { readonly verdict: 'forward' }
  | { readonly verdict: 'request', readonly request: RequestKind }
  | { readonly verdict: 'deny' }

const FORWARD: PublishVerdict = { verdict: 'forward' }
const DENY: PublishVerdict = { verdict: 'deny' }
const request = (kind: RequestKind): PublishVerdict => ({ verdict: 'request', request: kind })

/**
 * The MQTT rights of one connected identity (the rights table of the README), compiled once at
 * CONNECT so that the per-publish check is a map look-up for devices and
 * residents.
 */
export interface TopicRights {
  publish (topic: string): PublishVerdict
  subscribe (filter: string): boolean
  /** False for a delivery this identity must never see (server-only topics to an integration client). */
  receive (topic: string): boolean
}

function matchesAny (filters: readonly (readonly string[])[], levels: readonly string[]): boolean {
  for (const f of filters) if (filterMatches(f, levels)) return true
  return false
}

function coveredByAny (allowed: readonly (readonly string[])[], filter: string): boolean {
  if (!isValidFilter(filter) || filter.startsWith('$')) return false
  const levels = filter.split('/')
  for (const a of allowed) if (filterCovers(a, levels)) return true
  return false
}

const RESERVED = [...SERVER_ONLY_FILTERS, ...REQUEST_FILTERS]

/** Every reserved topic starts with one of these: a cheap test before splitting on the hot path. */
function mayBeReserved (topic: string): boolean {
  return topic.startsWith('users/') || topic.startsWith('devices/') || topic.startsWith('calls/')
}

/** True when every topic the filter can match is server-only or a request topic. */
function insideReserved (levels: readonly string[]): boolean {
  return RESERVED.some((r) => filterCovers(r, levels))
}

/** Publish verdicts remembered per integration client identity. */
const CLIENT_VERDICT_CACHE = 1024

const SYSTEM_ALL = ['system', '#']
const EVERYTHING = ['#']

function partyRights (own: Map<string, RequestKind>, readable: readonly (readonly string[])[]): TopicRights {
  return {
    publish: (topic) => {
      const kind = own.get(topic)
      return kind === undefined ? DENY : request(kind)
    },
    subscribe: (filter) => coveredByAny(readable, filter),
    receive: () => true
  }
}

export function compileRights (identity: Identity, directory: Directory): TopicRights {
  switch (identity.kind) {
    case 'device':
      return partyRights(new Map<string, RequestKind>([
        [topics.callRequest(identity.id), 'call'],
        [topics.deviceAction(identity.id), 'device_action'],
        [topics.deviceStatusReport(identity.id), 'status_report']
      ]), [['devices', identity.id, '#'], SYSTEM_ALL])
    case 'resident':
      return partyRights(new Map<string, RequestKind>([
        [topics.residentAction(identity.id), 'resident_action']
      ]), [['users', identity.id, '#'], SYSTEM_ALL])
    case 'service':
      return {
        publish: (topic) => (topic.startsWith('system/') && topic.length > 7 && isValidTopicName(topic) ? FORWARD : DENY),
        subscribe: (filter) => coveredByAny([EVERYTHING], filter),
        receive: () => true
      }
    case 'client': {
      const rights = directory.rightsOfClient(identity.id)
      const publish = rights?.publish ?? []
      const subscribe = rights?.subscribe ?? []
      const decide = (topic: string): PublishVerdict => {
        if (!isValidTopicName(topic) || topic.startsWith('$')) return DENY
        const levels = topic.split('/')
        if (!matchesAny(publish, levels)) return DENY
        return mayBeReserved(topic) && matchesAny(RESERVED, levels) ? DENY : FORWARD
      }
      // Integrations publish on few topics, often: remember the verdicts, within bounds.
      const verdicts = new Map<string, PublishVerdict>()
      return {
        publish: (topic) => {
          let verdict = verdicts.get(topic)
          if (verdict === undefined) {
            verdict = decide(topic)
            if (verdicts.size >= CLIENT_VERDICT_CACHE) verdicts.clear()
            verdicts.set(topic, verdict)
          }
          return verdict
        },
        // A filter inside the reserved topics is refused outright; a wider one
        // (`#`) is granted and the reserved deliveries are withheld by receive().
        subscribe: (filter) => coveredByAny(subscribe, filter) && !insideReserved(filter.split('/')),
        receive: (topic) => !mayBeReserved(topic) || !matchesAny(RESERVED, topic.split('/'))
      }
    }
  }
}
