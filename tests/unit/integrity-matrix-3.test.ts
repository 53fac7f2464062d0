/** Integrity across combinations, part 3 of 3 (the matrix and its steps: ./integrity-matrix.ts). */
import { registerMatrix } from './integrity-matrix';

registerMatrix(2, 3);
