/** Integrity across combinations, part 1 of 3 (the matrix and its steps: ./integrity-matrix.ts). */
import { registerMatrix } from './integrity-matrix';

registerMatrix(0, 3);
