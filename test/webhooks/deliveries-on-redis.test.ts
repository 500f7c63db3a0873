import { onRedis } from '../helpers/on-redis'

onRedis(() => require('./deliveries.test'))
