/** The built daemon and petrelctl (tsc's output in dist/) that namespace labs run. */
import { resolve } from 'node:path';

export const MAIN = resolve(import.meta.dirname, '../../dist/daemon/main.js');
export const PETRELCTL = resolve(import.meta.dirname, '../../dist/tools/petrelctl.js');
