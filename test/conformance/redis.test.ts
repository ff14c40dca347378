import { factory } from './factories/redis.js';
import { describeConformance } from './suite.js';

describeConformance(factory);
