import { useEffect, useRef, useState } from 'preact/hooks'
import type { MqttClient } from 'mqtt'
import type { Credentials } from '../api'
import { connectLink, type LinkState } from '../mqtt-link'

export interface Link {
  state: LinkState
  detail: string | undefined
  /** Publishes JSON at QoS 1; false when the connection is down (nothing is queued behind the user's back). */
  publish: (topic: string, message: unknown) => boolean
}

/**
 * One MQTT connection for the lifetime of a view, subscribed to `topics`
 * (again after every reconnect, since sessions are clean); each message goes
 * to the latest `onMessage`.
 */
export function useLink (credentials: Credentials, topics: readonly string[], onMessage: (topic: string, payload: Uint8Array) => void): Link {
  const [state, setState] = useState<LinkState>('connecting')
  const [detail, setDetail] = useState<string | undefined>(undefined)
  const client = useRef<MqttClient | null>(null)
  const handler = useRef(onMessage)
  handler.current = onMessage
  useEffect(() => {
    const mqttClient = connectLink({
      credentials,
      onState: (next, text) => {
        setState(next)
        setDetail(text)
      }
    })
    mqttClient.on('connect', () => { mqttClient.subscribe([...topics], { qos: 1 }) })
    mqttClient.on('message', (topic, payload) => handler.current(topic, payload))
    client.current = mqttClient
    return () => {
      client.current = null
      mqttClient.end(true)
    }
  }, [credentials, topics.join(' ')])
  return {
    state,
    detail,
    publish: (topic, message) => {
      const c = client.current
      if (c === null || !c.connected) return false
      c.publish(topic, JSON.stringify(message), { qos: 1 })
      return true
    }
  }
}
