import { onRedis } from '../helpers/on-redis'

onRedis(() => require('../calls/full-calls.test'))
