import { onRedis } from '../helpers/on-redis'

onRedis(() => require('../calls/talk-time.test'))
