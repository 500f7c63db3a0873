/**
 * MQTT client ids are scoped to the identity that connects: the broker keys
 * sessions, takeovers and wills by `<identity name>|<client id>`. Two
 * identities' ids therefore never collide, on one node or across a cluster:
 * nobody can kick another identity's connection off, nor take over, wipe or
 * squat its persistent session. An identity name cannot contain `|`, so the
 * scope ends at the first one.
 */
export const CLIENT_ID_SEPARATOR = '|'

export function scopedClientId (username: string, clientId: string): string {
  return `${username}${CLIENT_ID_SEPARATOR}${clientId}`
}

/** MQTT 3.1 (protocol level 3) limits a client id to 23 characters; 3.1.1 has no limit. */
export const MQTT31_MAX_CLIENT_ID = 23
