import { onRedis } from '../helpers/on-redis'

onRedis(() => require('../calls/dnd.test'))
