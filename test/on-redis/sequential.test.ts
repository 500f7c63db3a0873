import { onRedis } from '../helpers/on-redis'

onRedis(() => require('../calls/sequential.test'))
