import { onRedis } from '../helpers/on-redis'

onRedis(() => require('../records/call-records.test'))
