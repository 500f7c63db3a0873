import net from 'node:net'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import type { Aedes } from 'aedes'

/** Hands a socket to the broker; Nagle off, since signalling messages are small and latency matters. */
function handleSocket (broker: Aedes) {
  return (socket: net.Socket): void => {
    socket.setNoDelay(true)
    broker.handle(socket)
  }
}

function listen (server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as net.AddressInfo).port)
    })
  })
}

export async function listenMqtt (broker: Aedes, port: number, host: string): Promise<{ server: net.Server, port: number }> {
  const server = net.createServer(handleSocket(broker))
  return { server, port: await listen(server, port, host) }
}

export interface TlsFiles { cert: string, key: string }

export async function listenMqtts (broker: Aedes, port: number, host: string, files: TlsFiles): Promise<{ server: net.Server, port: number }> {
  let options: tls.TlsOptions
  try {
    options = { cert: readFileSync(files.cert), key: readFileSync(files.key) }
  } catch (err) {
    throw new Error(`cannot read TLS_CERT/TLS_KEY (${(err as Error).message}); point them to PEM files`)
  }
  const server = tls.createServer(options, handleSocket(broker))
  return { server, port: await listen(server, port, host) }
}

/** Stops accepting and waits for open connections, which the broker is closing, to go. */
export function closeServer (server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
