import { onRedis } from '../helpers/on-redis'

onRedis(() => require('../presence/status.test'))
