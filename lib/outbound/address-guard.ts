import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { BlockList, isIP } from 'node:net'
import { IntercomError } from '../errors'

/** Networks a URL chosen by a client may not reach unless allowed: this host, private, link-local, multicast. */
const REFUSED: ReadonlyArray<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'], ['10.0.0.0', 8, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['224.0.0.0', 4, 'ipv4'], ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'], ['::1', 128, 'ipv6'], ['fc00::', 7, 'ipv6'], ['fe80::', 10, 'ipv6'], ['ff00::', 8, 'ipv6']
]

/** Reads `OUTBOUND_ALLOW_NETWORKS`: comma-separated CIDRs (`10.1.0.0/16`, `::1/128`); a bare address is one host. */
export function parseNetworks (list: string): BlockList {
  const allowed = new BlockList()
  for (const entry of list.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const [address = '', prefixText] = entry.split('/')
    const family = isIP(address)
    const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText)
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
      throw new Error(`OUTBOUND_ALLOW_NETWORKS: ${entry} is not a CIDR network; write e.g. 10.0.0.0/8 or fd00::/8`)
    }
    allowed.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4')
  }
  return allowed
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

export interface OutboundGuard {
  /** Why the node will not send to this IP address, or null when it may. */
  refusal (address: string): string | null
  /** A `dns.lookup` for HTTP agents: a name that resolves to a refused address fails to connect. */
  lookup (hostname: string, options: LookupOptions, callback: LookupCallback): void
  /** Refuses a URL whose host is, or now resolves to, a refused address: 400 naming `field`. */
  checkUrl (url: string, field: string): Promise<void>
}

function refusedError (hostname: string, reason: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${hostname}: ${reason}`), { code: 'EOUTBOUNDREFUSED' })
}

/**
 * Guards the addresses the node sends to on behalf of clients (webhook URLs,
 * Web Push endpoints): without an allow-list entry, this host, private,
 * link-local and multicast networks are refused, at registration and again
 * at each connection (the name is looked up through the guard).
 */
export function createOutboundGuard (options: { allow: BlockList }): OutboundGuard {
  const refused = new BlockList()
  for (const [address, prefix, family] of REFUSED) refused.addSubnet(address, prefix, family)

  const refusal = (address: string): string | null => {
    // An IPv4 address in IPv6 clothing is the IPv4 address.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
    const ip = mapped ?? address
    const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4'
    if (options.allow.check(ip, family)) return null
    return refused.check(ip, family) ? `${ip} is a loopback, private, link-local or multicast address` : null
  }

  const lookup = (hostname: string, lookupOptions: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err !== null) {
        callback(err, [])
        return
      }
      for (const { address } of addresses) {
        const reason = refusal(address)
        if (reason !== null) {
          callback(refusedError(hostname, reason), [])
          return
        }
      }
      const first = addresses[0]
      if (lookupOptions.all === true) callback(null, addresses)
      else if (first === undefined) callback(refusedError(hostname, 'no address'), [])
      else callback(null, first.address, first.family)
    })
  }

  return {
    refusal,
    lookup,
    async checkUrl (url, field) {
      let host: string
      try {
        host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')
      } catch {
        throw new IntercomError('invalid_request', `${field} must be an absolute URL`)
      }
      let addresses: string[]
      if (isIP(host) !== 0) {
        addresses = [host]
      } else {
        try {
          addresses = await new Promise<string[]>((resolve, reject) => {
            dnsLookup(host, { all: true }, (err, found) => { if (err !== null) reject(err); else resolve(found.map((a) => a.address)) })
          })
        } catch {
          // Not resolvable now (DNS down, or not yet published): each delivery looks the name up through the guard.
          return
        }
      }
      for (const address of addresses) {
        const reason = refusal(address)
        if (reason !== null) throw new IntercomError('invalid_request', `${field} may not point to ${host}: ${reason} (allow it with OUTBOUND_ALLOW_NETWORKS)`)
      }
    }
  }
}
