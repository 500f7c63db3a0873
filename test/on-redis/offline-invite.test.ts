import { onRedis } from '../helpers/on-redis'

onRedis(() => require('../calls/offline-invite.test'))
