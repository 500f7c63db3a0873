import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { CallService } from '../lib/calls/call-service'
import { DirectCallBodySchema, directStartRequestOf } from '../lib/calls/request-bodies'
import { CallViewSchema } from '../lib/calls/view'
import type { Provider } from '../lib/calls/session'
import { requireRtc, requireTrtc, type Credentials } from '../lib/credentials'
import { rtcUserId, RtcTokenResponseSchema, TrtcUserSigResponseSchema } from '../lib/credentials/provider'
import { IntercomError, successEnvelope } from '../lib/errors'
import { responsesOf } from '../lib/http-schemas'
import type { Identity } from '../lib/identity'
import { identityOf } from './auth'

export interface MediaRoutesOptions {
  credentials: Credentials
  calls: CallService
}

const UserId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: '`device_<id>` or `resident_<id>`; a device or resident asks only for its own' })
/** Agora channels are at most 63 characters; call ids are far shorter. */
const ChannelId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,63}$', description: 'the call_id' })

const UserSigBodySchema = Type.Object({ user_id: UserId }, { additionalProperties: false })
const TokenBodySchema = Type.Object({ user_id: UserId, channel_id: ChannelId }, { additionalProperties: false })

const TAGS = ['media']

/** A device or resident signs in to media only as itself; a service as anyone; a client never. */
function assertOwnUserId (who: Identity, userId: string): void {
  if (who.kind === 'service') return
  const own = rtcUserId(who)
  if (own === null) throw new IntercomError('forbidden', `${who.name} takes no part in media calls`)
  if (own !== userId) throw new IntercomError('forbidden', `${who.name} may ask only for its own user id ${own}`)
}

/** Media routes: credentials on demand, and one-to-one calls with a chosen provider. */
async function mediaRoutes (fastify: FastifyInstance, options: MediaRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { credentials, calls } = options

  app.post('/api/trtc/usersig', {
    onRequest: app.authenticate,
    schema: {
      summary: 'A TRTC UserSig for one\'s own user id',
      description: 'A device or resident asks for `device_<id>` / `resident_<id>`; a service for any user id.',
      tags: TAGS,
      body: UserSigBodySchema,
      response: responsesOf(TrtcUserSigResponseSchema)
    }
  }, async (request) => {
    const userId = request.body.user_id
    assertOwnUserId(identityOf(request), userId)
    const signer = requireTrtc(credentials)
    const { user_sig: userSig, expire_at: expireAt } = signer.userSig(userId)
    return successEnvelope({ sdk_app_id: signer.sdkAppId, user_id: userId, user_sig: userSig, expire_at: expireAt })
  })

  app.post('/api/rtc/token', {
    onRequest: app.authenticate,
    schema: {
      summary: 'An RTC token for one\'s own user id in a call\'s channel',
      description: 'The channel is a call id: a device or resident asks only for a call it is party to; a service for any user and channel.',
      tags: TAGS,
      body: TokenBodySchema,
      response: responsesOf(RtcTokenResponseSchema)
    }
  }, async (request) => {
    const who = identityOf(request)
    const { user_id: userId, channel_id: channelId } = request.body
    assertOwnUserId(who, userId)
    // 404 for an unknown call, 403 for a call that is not the caller's or whose leg ended.
    if (who.kind !== 'service') await calls.assertMediaAccess(who, channelId)
    const tokens = requireRtc(credentials)
    const { token, expire_at: expireAt } = tokens.token(userId, channelId)
    return successEnvelope({ provider: tokens.name, app_id: tokens.appId, user_id: userId, channel_id: channelId, token, expire_at: expireAt })
  })

  const callRoutes: Array<[string, Provider, string]> = [
    ['/api/trtc/call', 'trtc', 'TRTC'],
    ['/api/rtc/call', 'rtc', 'RTC (Agora)']
  ]
  for (const [url, provider, label] of callRoutes) {
    app.post(url, {
      onRequest: app.authenticate,
      schema: {
        summary: `Ring one resident from a device, media over ${label}`,
        description: 'A device calls only for itself, a service for any device; the resident must be associated with the device. The session carries the device\'s credentials.',
        tags: ['calls', ...TAGS],
        body: DirectCallBodySchema,
        response: responsesOf(CallViewSchema)
      }
    }, async (request) => successEnvelope(await calls.start(identityOf(request), directStartRequestOf(request.body, provider))))
  }
}

export default fp(mediaRoutes, { name: 'intercom-media-routes', fastify: '5.x', dependencies: ['intercom-auth'] })
