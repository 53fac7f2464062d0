/**
 * Where a JSON text is broken, as "line L column C: reason". V8's JSON.parse messages differ
 * between Node versions and some carry no position at all, so when JSON.parse fails this small
 * scanner (RFC 8259) walks the text again and reports the first error it meets.
 */

export interface JsonProblem {
	/** 1-based */
	line: number;
	/** 1-based, in UTF-16 code units */
	column: number;
	reason: string;
}

/** Parses JSON; on a syntax error throws JsonSyntaxError with the line, column and reason. */
export function parseJson(text: string): unknown {
	const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a UTF-8 BOM is harmless
	try {
		return JSON.parse(body);
	} catch (e) {
		if (!(e instanceof SyntaxError)) throw e;
		const offset = body === text ? 0 : 1;
		const p = locateJsonError(body) ?? { pos: body.length, reason: e.message };
		throw new JsonSyntaxError(position(text, p.pos + offset, p.reason));
	}
}

export class JsonSyntaxError extends Error {
	override name = 'JsonSyntaxError';
	constructor(readonly problem: JsonProblem) {
		super(`line ${problem.line} column ${problem.column}: ${problem.reason}`);
	}
}

function position(text: string, pos: number, reason: string): JsonProblem {
	let line = 1;
	let lineStart = 0;
	for (let i = 0; i < pos && i < text.length; i++) {
		if (text.charCodeAt(i) === 10) {
			line++;
			lineStart = i + 1;
		}
	}
	return { line, column: pos - lineStart + 1, reason };
}

class Stop {
	constructor(
		readonly pos: number,
		readonly reason: string
	) {}
}

/** The offset and reason of the first syntax error, or undefined when the text is valid JSON. */
export function locateJsonError(text: string): { pos: number; reason: string } | undefined {
	let i = 0;
	const n = text.length;
	const describe = (at: number) => {
		if (at >= n) return 'unexpected end of input';
		const c = text[at];
		return `unexpected ${/[\x00-\x1f]/.test(c) ? `control character U+${c.charCodeAt(0).toString(16).padStart(4, '0')}` : `character ${JSON.stringify(c)}`}`;
	};
	const stop = (at: number, reason?: string): never => {
		throw new Stop(at, reason ? (at >= n ? `unexpected end of input (${reason})` : `${describe(at)} (${reason})`) : describe(at));
	};
	const ws = () => {
		while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
	};
	const literal = (word: string) => {
		for (let k = 0; k < word.length; k++) if (text[i + k] !== word[k]) stop(i + k, `expected ${word}`);
		i += word.length;
	};
	const string = () => {
		i++; // opening quote
		for (;;) {
			if (i >= n) stop(i, 'unterminated string');
			const c = text.charCodeAt(i);
			if (c === 0x22) {
				i++;
				return;
			}
			if (c < 0x20) stop(i, 'control characters must be escaped in strings');
			if (c === 0x5c) {
				const e = text[i + 1];
				if (e === 'u') {
					for (let k = 2; k < 6; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) stop(i + k, 'expected 4 hex digits after \\u');
					i += 6;
				} else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
				else stop(i + 1, 'bad escape in string');
			} else i++;
		}
	};
	const number = () => {
		if (text[i] === '-') i++;
		if (text[i] === '0') i++;
		else if (/[1-9]/.test(text[i] ?? '')) while (/[0-9]/.test(text[i] ?? '')) i++;
		else stop(i, 'expected a digit');
		if (text[i] === '.') {
			i++;
			if (!/[0-9]/.test(text[i] ?? '')) stop(i, 'expected a digit after the decimal point');
			while (/[0-9]/.test(text[i] ?? '')) i++;
		}
		if (text[i] === 'e' || text[i] === 'E') {
			i++;
			if (text[i] === '+' || text[i] === '-') i++;
			if (!/[0-9]/.test(text[i] ?? '')) stop(i, 'expected a digit in the exponent');
			while (/[0-9]/.test(text[i] ?? '')) i++;
		}
	};
	const value = (depth: number): void => {
		if (depth > 10_000) stop(i, 'nested too deeply');
		ws();
		const c = text[i];
		if (c === '{') {
			i++;
			ws();
			if (text[i] === '}') {
				i++;
				return;
			}
			for (;;) {
				ws();
				if (text[i] !== '"') stop(i, 'expected a property name in double quotes');
				string();
				ws();
				if (text[i] !== ':') stop(i, "expected ':' after the property name");
				i++;
				value(depth + 1);
				ws();
				if (text[i] === ',') {
					i++;
					ws();
					if (text[i] === '}') stop(i, 'trailing comma');
					continue;
				}
				if (text[i] === '}') {
					i++;
					return;
				}
				stop(i, "expected ',' or '}' after a property value");
			}
		}
		if (c === '[') {
			i++;
			ws();
			if (text[i] === ']') {
				i++;
				return;
			}
			for (;;) {
				value(depth + 1);
				ws();
				if (text[i] === ',') {
					i++;
					ws();
					if (text[i] === ']') stop(i, 'trailing comma');
					continue;
				}
				if (text[i] === ']') {
					i++;
					return;
				}
				stop(i, "expected ',' or ']' after an array element");
			}
		}
		if (c === '"') return string();
		if (c === 't') return literal('true');
		if (c === 'f') return literal('false');
		if (c === 'n') return literal('null');
		if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
		if (c === "'") stop(i, 'strings take double quotes');
		stop(i, i >= n ? undefined : 'expected a JSON value');
	};
	try {
		ws();
		if (i >= n) return { pos: i, reason: 'the file is empty (expected a JSON object)' };
		value(0);
		ws();
		if (i < n) stop(i, 'more text after the JSON value');
		return undefined;
	} catch (e) {
		if (e instanceof Stop) return { pos: e.pos, reason: e.reason };
		if (e instanceof RangeError) return { pos: i, reason: 'nested too deeply' };
		throw e;
	}
}
