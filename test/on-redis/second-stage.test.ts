import { onRedis } from '../helpers/on-redis'

onRedis(() => require('../calls/second-stage.test'))
