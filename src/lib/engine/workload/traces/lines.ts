/**
 * The shared half of the text trace readers: bytes in (UTF-8, any chunking), whole lines out,
 * numbered from 1. A line longer than MAX_LINE_CHARS is an error, so binary garbage cannot grow
 * the pending line without bound.
 */
import { emptySummary, TraceFormatError, type TraceFormat, type TraceReader, type TraceSink, type TraceSummary } from './types';

export const MAX_LINE_CHARS = 64 * 1024;

export abstract class LineTraceReader implements TraceReader {
	abstract readonly format: TraceFormat;
	readonly summary: TraceSummary = emptySummary();
	/** Number of the line being parsed (1-based); after end(), the number of lines. */
	protected line = 0;
	private readonly decoder = new TextDecoder('utf-8');
	private partial = '';

	push(chunk: Uint8Array, sink: TraceSink): void {
		this.summary.bytes += chunk.length;
		this.pushText(this.decoder.decode(chunk, { stream: true }), sink);
	}

	/** Feeds text that is already decoded (a string read elsewhere). */
	pushText(text: string, sink: TraceSink): void {
		let start = 0;
		for (;;) {
			const nl = text.indexOf('\n', start);
			if (nl < 0) break;
			let l = text.slice(start, nl);
			if (this.partial !== '') {
				l = this.partial + l;
				this.partial = '';
			}
			this.take(l, sink);
			start = nl + 1;
		}
		if (start < text.length) {
			this.partial += text.slice(start);
			if (this.partial.length > MAX_LINE_CHARS) {
				this.line++;
				this.fail(`longer than ${MAX_LINE_CHARS} characters without a line break (not a text trace?)`);
			}
		}
	}

	end(sink: TraceSink): void {
		const rest = this.decoder.decode();
		if (rest) this.pushText(rest, sink);
		if (this.partial !== '') {
			const l = this.partial;
			this.partial = '';
			this.take(l, sink);
		}
		this.finish();
	}

	private take(l: string, sink: TraceSink): void {
		this.line++;
		if (l.length > MAX_LINE_CHARS) this.fail(`longer than ${MAX_LINE_CHARS} characters`);
		this.parseLine(l.endsWith('\r') ? l.slice(0, -1) : l, sink);
	}

	/** One line, without its line break. */
	protected abstract parseLine(line: string, sink: TraceSink): void;

	/** Called once at the end of the input. */
	protected finish(): void {}

	protected fail(reason: string): never {
		throw new TraceFormatError(this.format, `line ${this.line}`, reason);
	}
}

/** A line for an error message: trimmed and cut short. */
export function quote(line: string): string {
	const t = line.trim();
	return JSON.stringify(t.length > 80 ? `${t.slice(0, 77)}…` : t);
}
