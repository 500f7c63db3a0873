import { Type } from 'typebox'
import type { RequestKindHandler } from '../broker/requests'
import { compileValidator } from '../validation'
import { StatusUpdateFields } from './device-status'
import type { StatusFeed } from './status-feed'

/** `devices/D/status/report`: a status update, plus the `request_id` an error reply echoes. */
export const StatusReportSchema = Type.Object({
  ...StatusUpdateFields,
  request_id: Type.Optional(Type.String({ maxLength: 128 }))
}, { additionalProperties: false })

const report = compileValidator(StatusReportSchema)

/**
 * Handles a device's own status report. The broker lets a device publish only
 * on its own report topic, so the sender is the device reported on.
 */
export function createStatusReportHandler (feed: StatusFeed): RequestKindHandler {
  return async (identity, body) => {
    const { request_id: requestId, ...update } = report.parse(body)
    await feed.update(identity.id, update, true)
  }
}
