import net from 'node:net'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import type { Aedes } from 'aedes'
import { ConfigError } from '../../config/env'
import type { ConnectionGate } from '../limits/connection-gate'
import { guardPacketSize, type PacketGuardOptions } from './packet-size-guard'

export interface ListenerOptions {
  broker: Aedes
  port: number
  host: string
  /** Packet limits: a connection breaking them is closed. */
  packets: PacketGuardOptions
  /** Connection caps shared with the node's other listeners. */
  gate: ConnectionGate
  /** A client's socket buffer: QoS 0 past it is dropped, so the broker never waits on one client's drain. */
  socketBufferBytes: number
}

/** Hands a socket to the broker; Nagle off, since signalling messages are small and latency matters. */
function handleSocket (options: ListenerOptions) {
  return (socket: net.Socket): void => {
    socket.setNoDelay(true)
    guardPacketSize(socket, options.packets)
    options.broker.handle(socket)
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

export async function listenMqtt (options: ListenerOptions): Promise<{ server: net.Server, port: number }> {
  const handle = handleSocket(options)
  const server = net.createServer({ highWaterMark: options.socketBufferBytes }, (socket) => { if (options.gate.admit(socket)) handle(socket) })
  return { server, port: await listen(server, options.port, options.host) }
}

export interface TlsFiles { cert: string, key: string }

/** Reads the PEM files of MQTTS; done before anything starts, so a bad path stops the node cleanly. */
export function readTlsFiles (files: TlsFiles): tls.TlsOptions {
  try {
    return { cert: readFileSync(files.cert), key: readFileSync(files.key) }
  } catch (err) {
    throw new ConfigError(`cannot read TLS_CERT/TLS_KEY (${(err as Error).message}); point them to PEM files`)
  }
}

export async function listenMqtts (options: ListenerOptions, tlsOptions: tls.TlsOptions): Promise<{ server: net.Server, port: number }> {
  const server = tls.createServer(tlsOptions, handleSocket(options))
  // TLS sockets keep Node's default buffer (16 KiB): tls.Server does not pass highWaterMark on (see slowPastBytes).
  // Counted at TCP accept, before a TLS handshake is spent on a refused connection.
  options.gate.guard(server)
  return { server, port: await listen(server, options.port, options.host) }
}

/** Stops accepting and waits for open connections, which the broker is closing, to go. */
export function closeServer (server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
