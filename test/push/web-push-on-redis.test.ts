import { onRedis } from '../helpers/on-redis'

onRedis(() => require('./web-push.test'))
