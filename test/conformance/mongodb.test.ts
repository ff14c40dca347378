import { factory } from './factories/mongodb.js';
import { describeConformance } from './suite.js';

describeConformance(factory);
