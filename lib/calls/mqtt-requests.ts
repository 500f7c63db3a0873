import type { RequestRouter } from '../broker/requests'
import { compileValidator } from '../validation'
import type { CallService } from './call-service'
import { ActionBodySchema, actionRequestOf, StartCallBodySchema, startRequestOf } from './request-bodies'

const startCall = compileValidator(StartCallBodySchema)
const action = compileValidator(ActionBodySchema)

/**
 * The MQTT requests of the call logic: `calls/request/D`, `devices/D/calls/action`,
 * `users/R/calls/action`. The topic already names the sender (the rights hook
 * checked it), so the body cannot act for anyone else.
 */
export function registerCallRequests (requests: RequestRouter, calls: CallService): void {
  requests.on('call', async (identity, body) => {
    await calls.start(identity, startRequestOf(startCall.parse(body), identity.id))
  })
  requests.on('device_action', async (identity, body) => {
    await calls.act(identity, 'device', actionRequestOf(action.parse(body)))
  })
  requests.on('resident_action', async (identity, body) => {
    await calls.act(identity, 'resident', actionRequestOf(action.parse(body)))
  })
}
