import type { RequestRouter } from '../broker/requests'
import { IntercomError } from '../errors'
import { compileValidator } from '../validation'
import type { CallService } from './call-service'
import { ActionBodySchema, actionRequestOf, StartCallBodySchema } from './requests'

const startCall = compileValidator(StartCallBodySchema)
const action = compileValidator(ActionBodySchema)

/**
 * The MQTT requests of the call logic (§5): `calls/request/D`,
 * `devices/D/calls/action`, `users/R/calls/action`. The topic already names
 * the sender (the rights hook checked it), so the body cannot act for anyone else.
 */
export function registerCallRequests (requests: RequestRouter, calls: CallService): void {
  requests.on('call', async (identity, body) => {
    const request = startCall.parse(body)
    const named = request.device_device_id ?? request.device_id
    if (named !== undefined && named !== identity.id) {
      throw new IntercomError('forbidden', `device/${identity.id} may not call for device ${named}`)
    }
    await calls.start(identity, {
      deviceId: identity.id,
      provider: request.provider ?? 'trtc',
      door: 'mqtt',
      ...(request.target_resident_id === undefined ? {} : { targetResidentId: request.target_resident_id }),
      ...(request.household_number === undefined ? {} : { householdNumber: request.household_number }),
      ...(request.timestamp === undefined ? {} : { timestamp: request.timestamp })
    })
  })
  requests.on('device_action', async (identity, body) => {
    await calls.act(identity, 'device', actionRequestOf(action.parse(body)))
  })
  requests.on('resident_action', async (identity, body) => {
    await calls.act(identity, 'resident', actionRequestOf(action.parse(body)))
  })
}
