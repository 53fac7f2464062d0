/**
 * The page's side of share links (the codec is $lib/links/codec): what a link carries from the
 * page (scenario, playback speed, selected view and filter, custom filters' source), and how a
 * link, or a scenario JSON file, becomes the page's editable scenario again. Nothing here trusts
 * its input: the scenario is validated by the engine's schema, and every failure is a LinkError
 * with the step and the reason, for the page to show before it falls back to the default.
 *
 * No runes and relative imports only, so Node tests can use it as it is.
 */
import { LinkError, SHARE_LIMIT_CHARS, decodeLink, encodeLink, type LinkState } from '../links/codec';
import { ScenarioError, parseScenario } from '../engine/scenario/schema';
import { defaultWorkload } from '../engine/workload/spec';
import type { EditableScenario } from './editable-scenario';

export { LinkError, SHARE_LIMIT_CHARS };
export type { LinkState };

/** Views a link can select (the dock's tabs). */
export const VIEWS = ['charts', 'trace', 'log'] as const;
export type View = (typeof VIEWS)[number];

/** Custom filter source a link may carry (run only after the viewer agrees). */
export interface CustomFilterSource {
	name: string;
	source: string;
}

/** The page's scenario, with the timed operations a lesson or a file may add. */
export type PageScenario = EditableScenario & { operations?: unknown[] };

/** What the page applies from a link or a file, already checked. */
export interface OpenedScenario {
	scenario: PageScenario;
	speed?: number;
	view?: View;
	selected?: number;
	filters: CustomFilterSource[];
}

/** The link state of the page as it is now. */
export function pageLinkState(p: { scenario: unknown; speed: number; view?: string; selected?: number; filters?: CustomFilterSource[] }): LinkState {
	const state: LinkState = { scenario: p.scenario, ui: { speed: p.speed, view: p.view, selected: p.selected } };
	if (p.filters && p.filters.length > 0) state.filters = p.filters.map((f) => ({ name: f.name, source: f.source }));
	return state;
}

/** The hash fragment for the page's state (without '#'). */
export function pageLink(p: Parameters<typeof pageLinkState>[0]): string {
	return encodeLink(pageLinkState(p));
}

/** Decodes a link (URL, '#s=…' or 's=…') into what the page applies; throws LinkError. */
export function openLink(input: string): OpenedScenario {
	return openState(decodeLink(input));
}

/**
 * A scenario file: the page's own download ({ scenario, ui, filters }) or a bare scenario
 * document (as `vaio run FILE` reads). Throws LinkError (step "json" or "content").
 */
export function openJsonFile(text: string): OpenedScenario {
	if (text.length > 2 * 1024 * 1024) throw new LinkError('content', `the file has ${text.length} characters, more than a scenario needs (2 MiB at most)`);
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (e) {
		throw new LinkError('json', (e as Error).message);
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new LinkError('content', 'the file does not hold a JSON object');
	const v = value as Record<string, unknown>;
	if ('scenario' in v) {
		for (const k of Object.keys(v))
			if (!['scenario', 'ui', 'filters'].includes(k)) throw new LinkError('content', `unknown field "${k.slice(0, 40)}"`);
		return openState(v as unknown as LinkState);
	}
	return openState({ scenario: v });
}

/** The page's state as a JSON file's text (what "Download JSON" saves and "Open JSON" reads). */
export function jsonFileText(state: LinkState): string {
	return JSON.stringify(state, (_k, v) => (v === Infinity ? null : v), 2) + '\n';
}

function openState(state: LinkState): OpenedScenario {
	const scenario = editableScenario(state.scenario);
	const ui = (state.ui ?? {}) as Record<string, unknown>;
	const out: OpenedScenario = { scenario, filters: [] };
	const speed = ui.speed === null ? Infinity : ui.speed;
	if (typeof speed === 'number' && (speed === Infinity || (Number.isFinite(speed) && speed > 0))) out.speed = speed;
	if (typeof ui.view === 'string' && (VIEWS as readonly string[]).includes(ui.view)) out.view = ui.view as View;
	const chainLength = scenario.vms[0].disks[0].policy.filters.length;
	if (typeof ui.selected === 'number' && Number.isInteger(ui.selected) && ui.selected >= -1 && ui.selected < chainLength) out.selected = ui.selected;
	if (state.filters) {
		if (state.filters.length > 16) throw new LinkError('content', `${state.filters.length} custom filters; a link carries at most 16`);
		for (const f of state.filters) {
			if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(f.name)) throw new LinkError('content', `custom filter name "${f.name.slice(0, 40)}" is not a valid name`);
			if (f.source.length > 256 * 1024) throw new LinkError('content', `custom filter "${f.name}" has ${f.source.length} characters of source; at most 262,144`);
		}
		out.filters = state.filters.map((f) => ({ name: f.name, source: f.source }));
	}
	return out;
}

/**
 * A scenario document in the page's editable form: validated by the engine's schema (so sizes
 * are bytes and every reference resolves), and each workload's fields that the page edits filled
 * with the engine's own defaults, which changes nothing the engine does. The first disk must have
 * a workload (the page edits it). Throws LinkError('content', …) naming the field.
 */
export function editableScenario(input: unknown): PageScenario {
	let parsed: unknown;
	try {
		parsed = parseScenario(input);
	} catch (e) {
		if (e instanceof ScenarioError) throw new LinkError('content', `the scenario is not valid: ${e.message}`);
		throw new LinkError('content', `the scenario is not valid: ${(e as Error).message}`);
	}
	const s = JSON.parse(JSON.stringify(parsed)) as PageScenario & { run?: Record<string, unknown>; cluster?: unknown };
	if (s.vms[0].disks[0].workload.length === 0) throw new LinkError('content', 'the first disk has no workload (the playground edits its first workload)');
	const d = defaultWorkload();
	for (const vm of s.vms)
		for (const disk of vm.disks)
			for (const w of disk.workload) {
				const x = w as unknown as Record<string, unknown>;
				for (const k of ['rw', 'bs', 'iodepth', 'rwmixread', 'ios', 'randomDistribution', 'dedupePercentage', 'thinktimeUs', 'rateIops'] as const)
					if (x[k] === undefined) x[k] = JSON.parse(JSON.stringify(d[k]));
			}
	// The schema's defaults for what the page does not edit: leave them out, so links stay short.
	if (Array.isArray(s.operations) && s.operations.length === 0) delete s.operations;
	if (s.run && s.run.traceCapacity === 65_536 && s.run.maxRuntimeUs === 0 && s.run.timingOnly === false) delete s.run;
	return s;
}

/** How long a link is, and whether it is short enough to share as a link. */
export function linkFits(url: string): { chars: number; fits: boolean } {
	return { chars: url.length, fits: url.length <= SHARE_LIMIT_CHARS };
}
