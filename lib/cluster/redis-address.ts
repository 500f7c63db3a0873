import { Redis, type RedisOptions } from 'ioredis'

/** A primary found through Redis Sentinel, which follows it across failovers. */
export interface SentinelAddress {
  sentinels: Array<{ host: string, port: number }>
  /** The primary's name in the sentinels' configuration. */
  name: string
  sentinelPassword?: string
  /** Password and database of the primary itself, as a `redis://` URL; its host is not used. */
  url?: string
}

/** Where a node's Redis is: a `redis://` URL of one server, or a primary behind sentinels. */
export type RedisAddress = string | SentinelAddress

/** `host:port,host:port` as ioredis takes it; throws on a malformed entry. */
export function parseSentinels (list: string): SentinelAddress['sentinels'] {
  return list.split(',').map((entry) => {
    const colon = entry.lastIndexOf(':')
    const host = entry.slice(0, colon).trim()
    const port = Number(entry.slice(colon + 1))
    if (colon <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`"${entry}" is not host:port`)
    }
    return { host, port }
  })
}

/** A new ioredis connection to the address, with the caller's options. */
export function connectRedis (address: RedisAddress, options: RedisOptions): Redis {
  if (typeof address === 'string') return new Redis(address, options)
  const sentinel: RedisOptions = {
    ...options,
    sentinels: address.sentinels,
    name: address.name,
    ...(address.sentinelPassword === undefined ? {} : { sentinelPassword: address.sentinelPassword })
  }
  return address.url === undefined ? new Redis(sentinel) : new Redis(address.url, sentinel)
}

/** The address for logs: never a password. */
export function describeRedis (address: RedisAddress): string {
  const strip = (url: string): string => url.replace(/\/\/[^@/]*@/, '//')
  if (typeof address === 'string') return strip(address)
  return `sentinel ${address.name} at ${address.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`
}
