/**
 * Transcendental functions that give the same bits in every JavaScript engine. Math.exp, log,
 * pow, cos … are implementation-defined: Node 20 and current Chromium return different last bits
 * (measured), which would change latencies and so the trace digest. stdlib's fdlibm ports use
 * only IEEE-754 arithmetic (exactly rounded everywhere). Math.sqrt, floor, imul, min, max and abs
 * are exact and stay as they are.
 */
import lnImpl from '@stdlib/math-base-special-ln';
import expImpl from '@stdlib/math-base-special-exp';
import powImpl from '@stdlib/math-base-special-pow';
import cosImpl from '@stdlib/math-base-special-cos';
import log1pImpl from '@stdlib/math-base-special-log1p';
import expm1Impl from '@stdlib/math-base-special-expm1';
import erfinvImpl from '@stdlib/math-base-special-erfinv';

export const ln: (x: number) => number = lnImpl;
export const exp: (x: number) => number = expImpl;
export const pow: (x: number, y: number) => number = powImpl;
export const cos: (x: number) => number = cosImpl;
export const log1p: (x: number) => number = log1pImpl;
export const expm1: (x: number) => number = expm1Impl;
/** The inverse error function (for normal quantiles: Φ⁻¹(u) = √2 · erfinv(2u − 1)). */
export const erfinv: (x: number) => number = erfinvImpl;
export const log2 = (x: number): number => lnImpl(x) / Math.LN2;
