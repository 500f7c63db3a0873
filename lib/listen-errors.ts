import { ConfigError } from '../config/env'

/** Socket errors of `listen` that are a configuration mistake, not a bug. */
const CAUSES: Record<string, (variable: string, port: number, host: string) => string> = {
  EADDRINUSE: (variable, port, host) => `${variable} ${port} is already in use on ${host}; choose another port or stop what holds it`,
  EACCES: (variable, port) => `${variable} ${port} needs privileges this process lacks; choose a port above 1023`,
  EADDRNOTAVAIL: (_variable, _port, host) => `HOST ${host} is not an address of this machine; use one of its addresses, or 0.0.0.0 for all`,
  ENOTFOUND: (_variable, _port, host) => `HOST ${host} does not resolve; use an IP address or a resolvable name`,
  EAI_AGAIN: (_variable, _port, host) => `HOST ${host} could not be resolved now; use an IP address`
}

/** Runs a `listen`; a failure that is a bad port or host becomes a ConfigError naming the variable. */
export async function listenAs<T> (variable: string, port: number, host: string, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen()
  } catch (err) {
    const describe = CAUSES[(err as NodeJS.ErrnoException).code ?? '']
    if (describe === undefined) throw err
    throw new ConfigError(`cannot listen: ${describe(variable, port, host)}`)
  }
}
