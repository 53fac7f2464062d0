/** Every lesson, in teaching order. */
import type { Lesson } from './types';
import { writeBackDirtyData } from './write-back-dirty-data';
import { syncAsyncReplication } from './sync-async-replication';
import { deferVsBlocking } from './defer-vs-blocking';
import { encryptionAndDedup } from './encryption-and-dedup';
import { flakyDisk } from './flaky-disk';
import { scanResistantCache } from './scan-resistant-cache';
import { tieringHotSet } from './tiering-hot-set';
import { mrcPredictsHits } from './mrc-predicts-hits';

export type { Lesson, LessonRun, CheckOutcome, LessonScenario, LessonView } from './types';

export const LESSONS: readonly Lesson[] = [
	writeBackDirtyData,
	syncAsyncReplication,
	deferVsBlocking,
	encryptionAndDedup,
	flakyDisk,
	scanResistantCache,
	tieringHotSet,
	mrcPredictsHits
];

export function lessonById(id: string | null | undefined): Lesson | undefined {
	return id ? LESSONS.find((l) => l.id === id) : undefined;
}

/** A deep copy of a lesson's scenario, to edit in the page. */
export function lessonScenario(l: Lesson): Lesson['scenario'] {
	return JSON.parse(JSON.stringify(l.scenario)) as Lesson['scenario'];
}
