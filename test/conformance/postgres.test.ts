import { factory } from './factories/postgres.js';
import { describeConformance } from './suite.js';

describeConformance(factory);
