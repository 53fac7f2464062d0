/** Integrity across combinations, part 2 of 3 (the matrix and its steps: ./integrity-matrix.ts). */
import { registerMatrix } from './integrity-matrix';

registerMatrix(1, 3);
