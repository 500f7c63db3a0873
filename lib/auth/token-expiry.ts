import type { Client } from 'aedes'
import type { Logger } from 'pino'
import type { ClientContexts } from '../broker/client-context'

/** setTimeout takes at most this; a later expiry re-arms the timer. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Closes each connection made with a token when the token expires; the timer goes with the connection. */
export function closeConnectionsAtTokenExpiry (contexts: ClientContexts, logger: Logger): () => void {
  return contexts.onAuthenticated((client: Client, context) => {
    const expiresAt = context.tokenExpiresAt
    if (expiresAt === undefined) return
    let timer: NodeJS.Timeout
    const arm = (): void => {
      const left = expiresAt - Date.now()
      if (left <= 0) {
        logger.info({ identity: context.identity.name }, 'MQTT connection closed: its sign-in token expired')
        client.close()
        return
      }
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS))
    }
    arm()
    client.conn.once('close', () => clearTimeout(timer))
  })
}
