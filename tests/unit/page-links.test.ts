/**
 * The page's side of share links (src/lib/ui/links.ts): a link or a JSON file becomes the page's
 * editable scenario without changing what the engine does (the same digest), and everything that
 * is not a valid scenario is a LinkError naming the step.
 */
import { describe, expect, it } from 'vitest';
import { runScenario, defaultScenario } from '../../src/lib/engine/index';
import { LinkError, encodeLink } from '../../src/lib/links/codec';
import { editableScenario, jsonFileText, openJsonFile, openLink, pageLink, pageLinkState } from '../../src/lib/ui/links';
import { defaultEditableScenario } from '../../src/lib/ui/editable-scenario';
import { LESSONS } from '../../src/lib/ui/lessons';

function stepOf(fn: () => unknown): string {
	try {
		fn();
	} catch (e) {
		if (e instanceof LinkError) return e.step;
		throw e;
	}
	return 'none';
}

describe('page links', () => {
	it('the engine default (sizes as text, fields missing) opens as the same run', async () => {
		const opened = openLink(encodeLink({ scenario: defaultScenario() }));
		const w = opened.scenario.vms[0].disks[0].workload[0];
		expect(typeof opened.scenario.vms[0].disks[0].size).toBe('number');
		expect(w.randomDistribution).toEqual({ kind: 'random' });
		expect(w.thinktimeUs).toBe(0);
		expect((await runScenario(opened.scenario)).traceDigest).toBe((await runScenario(defaultScenario())).traceDigest);
	});

	it('a lesson round-trips through the page link with its speed, view and selection', async () => {
		const lesson = LESSONS.find((l) => l.id === 'flaky-disk')!;
		const hash = pageLink({ scenario: lesson.scenario, speed: Infinity, view: 'trace', selected: 2 });
		const opened = openLink(`https://example.test/vaio/?lesson=x#${hash}`);
		expect(opened.speed).toBe(Infinity);
		expect(opened.view).toBe('trace');
		expect(opened.selected).toBe(2);
		expect((await runScenario(opened.scenario)).traceDigest).toBe((await runScenario(lesson.scenario)).traceDigest);
	});

	it('a JSON file opens: the page download, or a bare scenario', () => {
		const state = pageLinkState({ scenario: defaultEditableScenario(), speed: 1000, view: 'log', selected: 0, filters: [{ name: 'mine', source: 'export default {}' }] });
		const opened = openJsonFile(jsonFileText(state));
		expect(opened.speed).toBe(1000);
		expect(opened.filters).toEqual([{ name: 'mine', source: 'export default {}' }]);
		expect(openJsonFile(JSON.stringify(defaultScenario())).scenario.vms[0].name).toBe('vm-01');
	});

	it('stream names round-trip through a link and a JSON file, and do not change the digest', async () => {
		const named = defaultEditableScenario();
		const disk = named.vms[0].disks[0];
		disk.workload = [
			{ ...disk.workload[0], name: 'oltp [hot].0' },
			{ ...disk.workload[0], name: 'log=writer', rw: 'write', ios: 500 },
			{ ...disk.workload[0], rw: 'randread', ios: 500 }
		];
		const names = (s: { vms: { disks: { workload: { name?: string }[] }[] }[] }) => s.vms[0].disks[0].workload.map((w) => w.name);
		const byLink = openLink(pageLink({ scenario: named, speed: 1 })).scenario;
		const byFile = openJsonFile(jsonFileText(pageLinkState({ scenario: named, speed: 1 }))).scenario;
		expect(names(byLink)).toEqual(['oltp [hot].0', 'log=writer', undefined]);
		expect(byLink.vms[0].disks[0].workload).toEqual(disk.workload);
		expect(byFile.vms[0].disks[0].workload).toEqual(disk.workload);
		const unnamed = structuredClone(named);
		for (const w of unnamed.vms[0].disks[0].workload) delete w.name;
		const [a, b] = await Promise.all([runScenario(byLink), runScenario(unnamed)]);
		expect(a.traceDigest).toBe(b.traceDigest);
		expect(a.streams.map((s) => s.job)).toEqual(['oltp [hot].0', 'log=writer', undefined]);
		// A name the schema refuses is a LinkError naming the field.
		disk.workload[2].name = 'log=writer';
		expect(() => openLink(pageLink({ scenario: named, speed: 1 }))).toThrow(/workload\[2\]\.name: duplicate stream name "log=writer": workload\[1\] has it too/);
	});

	it('what is not a valid scenario is a LinkError naming the step', () => {
		expect(stepOf(() => openJsonFile('{'))).toBe('json');
		expect(stepOf(() => openJsonFile('[1]'))).toBe('content');
		expect(stepOf(() => openJsonFile('{"scenario": {"version": 2}}'))).toBe('content');
		expect(stepOf(() => openJsonFile('{"scenario": {"version": 1, "vms": []}, "extra": 1}'))).toBe('content');
		expect(stepOf(() => editableScenario({ version: 1, vms: [{ name: 'v', disks: [{ name: 'd', workload: [] }] }] }))).toBe('content');
		expect(stepOf(() => openLink(encodeLink({ scenario: defaultScenario(), filters: [{ name: '../evil', source: '' }] })))).toBe('content');
		expect(stepOf(() => openLink('#s=2.%%%'))).toBe('base64');
		// Hostile page state is ignored, not applied.
		const opened = openLink(encodeLink({ scenario: defaultScenario(), ui: { speed: -5, view: 'evil', selected: 99 } }));
		expect(opened.speed).toBeUndefined();
		expect(opened.view).toBeUndefined();
		expect(opened.selected).toBeUndefined();
	});
});
