/** The identity every bench client uses: a directory `client` allowed on `bench/#` only. */
export const BENCH_IDENTITY = { username: 'client/bench', password: 'bench-secret', topicRoot: 'bench' } as const

/** A broker process under test, reachable on loopback. */
export interface RunningBroker {
  /** What the tables call it, version included. */
  readonly label: string
  readonly pid: number
  readonly port: number
  stop (): Promise<void>
}

export interface BrokerKind {
  readonly name: 'embedded' | 'mosquitto'
  /** Null when the broker can run here, else why not (shown in the tables). */
  missing (): string | null
  start (): Promise<RunningBroker>
}
