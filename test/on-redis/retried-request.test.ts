import { onRedis } from '../helpers/on-redis'

onRedis(() => require('../calls/retried-request.test'))
