/** aedes-persistence-redis ships without types; this covers the part the project uses. */
declare module 'aedes-persistence-redis' {
  import type { Cluster, Redis, RedisOptions } from 'ioredis'

  namespace aedesPersistenceRedis {
    interface Options extends RedisOptions {
      /** A connection to use; the persistence disconnects it on `destroy()`. */
      conn?: Redis | Cluster
      cluster?: boolean | Array<{ host: string, port: number }>
      /** Most offline messages delivered on CONNECT (default 1000). */
      maxSessionDelivery?: number
      /** Offline message TTL in seconds; 0 keeps them. */
      packetTTL?: (packet: unknown) => number
    }

    interface Persistence {
      /** Unsubscribes from the broker and disconnects; call it after the broker closed. */
      destroy (): Promise<void>
    }
  }

  function aedesPersistenceRedis (options?: aedesPersistenceRedis.Options): aedesPersistenceRedis.Persistence
  export = aedesPersistenceRedis
}
