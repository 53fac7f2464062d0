/**
 * Every lesson's scenario runs in Node and its expected check holds (and its compare variant's
 * check, run on the same workload and seed), so the lessons stay true as the engine evolves.
 */
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../src/lib/filters';
import { Simulation } from '../../src/lib/engine/simulation';
import { runResult } from '../../src/lib/engine/result';
import { parseScenario } from '../../src/lib/engine/scenario/schema';
import { analyticsReport, type AnalyticsState } from '../../src/lib/filters/analytics';
import { LESSONS } from '../../src/lib/ui/lessons';
import type { LessonRun, LessonScenario } from '../../src/lib/ui/lessons/types';

async function runLesson(s: LessonScenario): Promise<LessonRun> {
	const sim = await Simulation.create(s, { registry: builtinRegistry() });
	await sim.run();
	const a = sim.disks[0].chain.filters.find((f) => f.def.name === 'analytics');
	return { result: runResult(sim), analytics: a ? analyticsReport(a.state as AnalyticsState) : null };
}

describe('lessons', () => {
	it('have unique ids, at least six, and valid scenarios', () => {
		expect(LESSONS.length).toBeGreaterThanOrEqual(6);
		expect(new Set(LESSONS.map((l) => l.id)).size).toBe(LESSONS.length);
		for (const l of LESSONS) {
			expect(() => parseScenario(l.scenario), l.id).not.toThrow();
			if (l.compare) expect(() => parseScenario(l.compare!.scenario), `${l.id} compare`).not.toThrow();
			expect(l.steps.length, l.id).toBeGreaterThan(0);
		}
	});

	for (const lesson of LESSONS) {
		it(`${lesson.id}: ${lesson.expected.text}`, { timeout: 60_000 }, async () => {
			const a = await runLesson(lesson.scenario);
			const outcome = lesson.expected.run(a);
			expect(outcome.ok, outcome.detail).toBe(true);
			if (lesson.compare) {
				const b = await runLesson(lesson.compare.scenario);
				const c = lesson.compare.expected.run(a, b);
				expect(c.ok, `compare: ${c.detail}`).toBe(true);
				expect(b.result.traceDigest).not.toBe(a.result.traceDigest);
			}
		});
	}
});
