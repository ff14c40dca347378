import { factory } from './factories/sqlite.js';
import { describeConformance } from './suite.js';

describeConformance(factory);
