import { factory } from './factories/memory.js';
import { describeConformance } from './suite.js';

describeConformance(factory);
