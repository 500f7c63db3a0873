/** Bounds of one client's outgoing queue. */
export interface OutgoingQueueLimits {
  /** Bytes waiting for one client; past this it is disconnected. */
  maxBytes: number
  /** Messages forwarded to one client in one turn of the event loop, and QoS 1 messages queued past its socket's buffer; past this it is disconnected. */
  maxMessages: number
}

/** What the node did to slow clients since it started; for logs and metrics. */
export interface SlowClientCounts {
  /** QoS 0 messages not sent to a client whose socket buffer was full. */
  droppedQos0: number
  /** Clients disconnected for a queue past its bounds. */
  disconnected: number
}

/**
 * Bytes that may wait for a client before it counts as slow: half its queue
 * bound. TCP and WebSocket sockets get a buffer of this size; TLS sockets keep
 * Node's 16 KiB whatever the listener asks for, so the bounds count in this,
 * not in the socket's own buffer.
 */
export function slowPastBytes (limits: OutgoingQueueLimits): number {
  return Math.floor(limits.maxBytes / 2)
}

export function createSlowClientCounts (): SlowClientCounts {
  return { droppedQos0: 0, disconnected: 0 }
}

/** One delivery to one client, and that client's queue. */
export interface Delivery {
  qos: number
  /** Bytes of the message. */
  size: number
  /** Bytes not yet taken by the client's socket, this turn's forwards included. */
  queuedBytes: number
  /** What may wait for the client before it counts as slow: half its queue bound, whatever its transport's own socket buffer. */
  bufferBytes: number
  /** Messages forwarded to the client in this turn of the event loop. */
  turnMessages: number
  /** QoS 1 messages queued past the socket's buffer. */
  backlog: number
}

export type ForwardDecision = 'forward' | 'queue' | 'drop' | 'disconnect'

/**
 * Whether to forward a message to a client. Within its socket's buffer it
 * goes (the broker never waits on this client). Past it, QoS 0 is dropped;
 * QoS 1 is queued until the queue passes its bounds, then the client is
 * disconnected. A slow consumer so costs only itself.
 */
export function forwardDecision (d: Delivery, limits: OutgoingQueueLimits): ForwardDecision {
  if (d.queuedBytes + d.size <= d.bufferBytes && d.turnMessages < limits.maxMessages) return 'forward'
  if (d.qos === 0) return 'drop'
  if (d.queuedBytes + d.size > limits.maxBytes || d.backlog >= limits.maxMessages) return 'disconnect'
  return 'queue'
}
