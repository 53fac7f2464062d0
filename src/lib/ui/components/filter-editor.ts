/**
 * The CodeMirror 6 setup of the filter editor: TypeScript highlighting (lang-javascript), a
 * completion source for the filter API (ctx.*, io.*, ctx.prng.*, Op.*, the verdict helpers, the
 * 'vaio' names, the definition's fields and hooks, class names inside `class: '…'`), and lint
 * diagnostics: sucrase's syntax errors as the author types, plus the problems the engine reported
 * (registration checks, throws at their lines).
 */
import { EditorState, StateEffect, type Extension } from '@codemirror/state';
import {
	EditorView,
	crosshairCursor,
	drawSelection,
	dropCursor,
	highlightActiveLine,
	highlightActiveLineGutter,
	highlightSpecialChars,
	keymap,
	lineNumbers,
	rectangularSelection
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { HighlightStyle, bracketMatching, foldGutter, indentOnInput, syntaxHighlighting, syntaxTree } from '@codemirror/language';
import { tags as t } from '@lezer/highlight';
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, type Completion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { javascript, completionPath, typescriptLanguage } from '@codemirror/lang-javascript';
import { linter, lintGutter, lintKeymap, type Diagnostic } from '@codemirror/lint';
import { CONTEXT_API, DEF_FIELDS, HOOKS, IO_FIELDS, SDK_NAMES, type ApiEntry } from '$lib/sandbox/reference';
import { transpileFilter, type SourceProblem } from '$lib/sandbox/transpile';
import { FILTER_CLASSES } from '$lib/engine/filter';

function entry(e: ApiEntry, type: string): Completion {
	const note = e.custom === 'no' ? ` (not available in custom filters${e.note ? `: ${e.note}` : ''})` : e.note ? ` (${e.note})` : '';
	return { label: e.name, type, detail: e.detail, info: e.info + note, boost: e.custom === 'no' ? -10 : 0 };
}

const CTX = CONTEXT_API.map((e) => entry(e, /\(/.test(e.detail) ? 'method' : 'property'));
const IO = IO_FIELDS.map((e) => entry(e, 'property'));
const PRNG: Completion[] = [
	{ label: 'next', type: 'method', detail: '(): number', info: 'Uniform in [0, 1).' },
	{ label: 'u32', type: 'method', detail: '(): number', info: 'Uniform 32-bit unsigned integer.' },
	{ label: 'int', type: 'method', detail: '(n: number): number', info: 'Uniform integer in [0, n).' },
	{ label: 'exp', type: 'method', detail: '(mean: number): number', info: 'Exponential with the given mean.' },
	{ label: 'normal', type: 'method', detail: '(): number', info: 'Standard normal (mean 0, σ 1).' },
	{ label: 'fork', type: 'method', detail: '(salt: number): Prng', info: 'A child generator with an independent stream, derived deterministically from this one and salt.' }
];
const DISK: Completion[] = ['name', 'vm', 'host', 'sectors'].map((label) => ({ label, type: 'property' }));
const OP: Completion[] = ['read', 'write', 'flush', 'unmap'].map((label, i) => ({ label, type: 'constant', detail: String(i) }));
const TOP: Completion[] = [
	...SDK_NAMES.map((e) => entry(e, /\(/.test(e.detail) ? 'function' : 'constant')),
	...DEF_FIELDS.map((e) => entry(e, 'property')),
	...HOOKS.map((h) => ({ label: h.name, type: 'method', detail: `${h.signature}${h.required ? ' (required)' : ''}`, info: `Called ${h.when}. Returns ${h.returns}.` }))
];

/** Which completions a member path asks for: by the conventional names of the hooks' parameters. */
function members(path: readonly string[]): Completion[] | null {
	const key = path.join('.');
	if (/^(ctx|context)$/.test(key)) return CTX;
	if (/^(ctx|context)\.prng$/.test(key)) return PRNG;
	if (/^(ctx|context)\.disk$/.test(key)) return DISK;
	if (/^(io|req|request)$/.test(key)) return IO;
	if (key === 'Op') return OP;
	return null;
}

/** The filter API's completions. */
export function filterCompletions(context: CompletionContext): CompletionResult | null {
	// Inside `class: '…'`: the filter classes.
	const node = syntaxTree(context.state).resolveInner(context.pos, -1);
	if (node.name === 'String') {
		const before = context.state.doc.sliceString(Math.max(0, node.from - 40), node.from);
		if (/\bclass\s*:\s*$/.test(before))
			return {
				from: node.from + 1,
				options: FILTER_CLASSES.map((c) => ({ label: c, type: 'enum' })),
				validFor: /^\w*$/
			};
		return null;
	}
	const p = completionPath(context);
	if (!p) return null;
	if (p.path.length === 0) {
		if (!p.name && !context.explicit) return null;
		return { from: context.pos - p.name.length, options: TOP, validFor: /^[\w$]*$/ };
	}
	const options = members(p.path);
	return options ? { from: context.pos - p.name.length, options, validFor: /^[\w$]*$/ } : null;
}

/** A problem at a line (and column) of the source as a CodeMirror diagnostic. */
export function toDiagnostic(state: EditorState, p: SourceProblem, severity: Diagnostic['severity'] = 'error'): Diagnostic {
	const doc = state.doc;
	const lineNo = Math.min(Math.max(1, p.line || 1), doc.lines);
	const line = doc.line(lineNo);
	// A syntax error marks from its column; a throw or a registration problem marks its statement.
	const indent = line.text.length - line.text.trimStart().length;
	const from = p.kind === 'syntax' && p.line && p.column ? Math.min(line.to, line.from + Math.max(0, p.column - 1)) : line.from + indent;
	return { from, to: Math.max(from, line.to), severity, source: p.kind, message: p.message };
}

/** Token colours from CSS variables (FilterEditor.svelte sets them for light and dark). */
const highlight = HighlightStyle.define([
	{ tag: [t.keyword, t.modifier, t.controlKeyword, t.operatorKeyword, t.definitionKeyword, t.moduleKeyword], color: 'var(--cm-keyword)' },
	{ tag: [t.string, t.special(t.string), t.regexp], color: 'var(--cm-string)' },
	{ tag: [t.number, t.bool, t.null, t.atom], color: 'var(--cm-literal)' },
	{ tag: [t.comment, t.lineComment, t.blockComment, t.docComment], color: 'var(--cm-comment)', fontStyle: 'italic' },
	{ tag: [t.propertyName, t.attributeName], color: 'var(--cm-property)' },
	{ tag: [t.function(t.variableName), t.function(t.propertyName), t.definition(t.function(t.variableName))], color: 'var(--cm-function)' },
	{ tag: [t.typeName, t.className, t.namespace], color: 'var(--cm-type)' },
	{ tag: [t.definition(t.variableName), t.definition(t.propertyName)], color: 'var(--cm-definition)' },
	{ tag: t.invalid, color: 'var(--bad)' }
]);

/** Dispatch this when the engine's problems change: the linter runs again (then forceLinting). */
export const problemsChanged = StateEffect.define<null>();

export interface FilterEditorOptions {
	doc: string;
	parent: HTMLElement;
	/** Called with the new text on every change. */
	onChange(text: string): void;
	/** Problems reported by the engine (install, run), read by the linter each time it runs. */
	problems(): readonly SourceProblem[];
	/** Every problem the linter shows (syntax and the engine's), each time it runs. */
	onDiagnostics?(shown: SourceProblem[]): void;
	readonly?: boolean;
}

export function createFilterEditor(o: FilterEditorOptions): EditorView {
	const extensions: Extension[] = [
		lineNumbers(),
		highlightActiveLineGutter(),
		highlightSpecialChars(),
		history(),
		foldGutter(),
		drawSelection(),
		dropCursor(),
		EditorState.allowMultipleSelections.of(true),
		indentOnInput(),
		syntaxHighlighting(highlight),
		bracketMatching(),
		closeBrackets(),
		autocompletion({ activateOnTyping: true }),
		rectangularSelection(),
		crosshairCursor(),
		highlightActiveLine(),
		keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap, indentWithTab]),
		javascript({ typescript: true }),
		typescriptLanguage.data.of({ autocomplete: filterCompletions }),
		lintGutter(),
		linter(
			(view) => {
				const text = view.state.doc.toString();
				const out: Diagnostic[] = [];
				const t = transpileFilter(text);
				const shown = [...(t.ok ? [] : [t.problem]), ...o.problems()];
				for (const p of shown) out.push(toDiagnostic(view.state, p));
				o.onDiagnostics?.(shown);
				return out;
			},
			{ delay: 300, needsRefresh: (u) => u.transactions.some((tr) => tr.effects.some((e) => e.is(problemsChanged))) }
		),
		EditorView.updateListener.of((u) => {
			if (u.docChanged) o.onChange(u.state.doc.toString());
		}),
		EditorState.readOnly.of(o.readonly === true),
		EditorView.lineWrapping,
		EditorView.theme({
			'&': { height: '100%', fontSize: '12.5px', backgroundColor: 'var(--surface)', color: 'var(--text)' },
			'.cm-scroller': { fontFamily: 'var(--font-mono)', lineHeight: '1.5' },
			'.cm-gutters': { backgroundColor: 'var(--surface-2)', color: 'var(--text-faint)', borderRight: '1px solid var(--border-soft)' },
			'.cm-activeLine': { backgroundColor: 'color-mix(in srgb, var(--accent) 6%, transparent)' },
			'.cm-activeLineGutter': { backgroundColor: 'color-mix(in srgb, var(--accent) 12%, transparent)' },
			'&.cm-focused': { outline: 'none' },
			'.cm-cursor': { borderLeftColor: 'var(--text)' }
		})
	];
	return new EditorView({ parent: o.parent, state: EditorState.create({ doc: o.doc, extensions }) });
}
