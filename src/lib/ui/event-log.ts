/**
 * The event log's entries as the Log tab shows them: each entry of the engine's log (virtual
 * time, source, message) gets a kind, so the log can be filtered to control operations, faults,
 * errors or the filters' own messages.
 */
export interface LogEntry {
	t: number;
	source: string;
	message: string;
}

export const LOG_KINDS = ['control', 'fault', 'error', 'message'] as const;
export type LogKind = (typeof LOG_KINDS)[number];

export const LOG_KIND_LABELS: Record<LogKind, string> = {
	control: 'control operation',
	fault: 'fault',
	error: 'error',
	message: 'filter message'
};

const CONTROL = /^(control: |(snapshot|power|suspend|resume|clone|vmotion|v-motion|migrate|grow|disk-grow|attach|detach|install|uninstall|upgrade|policy|drs|reconfigure|crash|restart)\b)/i;
const ERROR = /\b(threw|failed|failure|refused|error|errors|mismatch|corrupt\w*|ignored|unreadable|cannot|can't)\b/i;
const FAULT = /\b(fault|outage|link down|down at|flaky|injected|crash\w*|lost|partition|journal full|degraded)\b/i;

/** What kind of entry this is (by its message and source; the engine's log is plain text). */
export function logKind(e: LogEntry): LogKind {
	if (ERROR.test(e.message)) return 'error';
	if (FAULT.test(e.message)) return 'fault';
	if (CONTROL.test(e.message)) return 'control';
	return 'message';
}

export interface LogQuery {
	kind?: LogKind | '';
	source?: string;
	/** Case-insensitive text in the source or the message. */
	text?: string;
}

/** Entries matching a query, with their kind and their index in the full log. */
export function filterLog(entries: readonly LogEntry[], q: LogQuery): { e: LogEntry; kind: LogKind; i: number }[] {
	const text = q.text?.trim().toLowerCase() ?? '';
	const out: { e: LogEntry; kind: LogKind; i: number }[] = [];
	entries.forEach((e, i) => {
		const kind = logKind(e);
		if (q.kind && kind !== q.kind) return;
		if (q.source && e.source !== q.source) return;
		if (text && !e.message.toLowerCase().includes(text) && !e.source.toLowerCase().includes(text)) return;
		out.push({ e, kind, i });
	});
	return out;
}

/** Virtual time as the log shows it: seconds with µs resolution ("0.012345 s"). */
export function fmtLogTime(us: number): string {
	if (!Number.isFinite(us)) return '—';
	const s = Math.floor(us / 1e6);
	const rest = Math.round(us - s * 1e6);
	return `${s}.${String(rest).padStart(6, '0')} s`;
}
