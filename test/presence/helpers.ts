import net from 'node:net'
import { generate } from 'mqtt-packet'
import { SECRETS } from '../helpers/node'

/**
 * A device connection that CONNECTs with a keep-alive of `keepalive` seconds
 * and then sends nothing, as a device that lost power mid-session would.
 */
export function silentConnection (port: number, name: string, clientId: string, keepalive: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('error', reject)
    socket.once('data', () => resolve(socket))
    socket.write(generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId,
      keepalive,
      username: name,
      password: Buffer.from(SECRETS[name] ?? '')
    }))
  })
}
