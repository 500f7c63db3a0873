import { onRedis } from '../helpers/on-redis'

onRedis(() => require('../broker/session-owners.test'))
