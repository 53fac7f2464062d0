/**
 * Where the page's scenario comes from and where it goes: a share link in the URL hash, a lesson
 * (?lesson=id), a JSON file, or the default; and the hash written back (replaceState, debounced)
 * as the user edits, so the address bar is always a link to what is on screen.
 *
 * Opening never leaves the page blank or hung: a bad link or file shows its LinkError (step and
 * reason) and the default scenario loads. A link that carries custom filter code waits for the
 * viewer's consent before anything runs; declining loads the default scenario. Custom bundles
 * stored in this browser by the filter editor (custom-bundles.svelte.ts) travel in links like
 * that too; a link whose code is exactly stored bundles' (a reload of this page) needs no
 * consent, and a scenario that uses a stored bundle gets it registered before it loads.
 */
import { replaceState } from '$app/navigation';
import { SandboxHost } from '$lib/sandbox/host';
import { installCustomFilter } from '$lib/sandbox/install';
import { defaultEditableScenario, type EditableScenario, type Playground } from './playground.svelte';
import { LinkError, jsonFileText, openJsonFile, openLink, pageLink, pageLinkState, type CustomFilterSource, type OpenedScenario } from './links';
import { lessonById, lessonScenario, type Lesson } from './lessons';
import type { CustomBundles } from './custom-bundles.svelte';

export interface Notice {
	kind: 'error' | 'info';
	title: string;
	text: string;
	/** The LinkError's step, when a link or file failed. */
	step?: LinkError['step'];
}

/** Wall time between the last edit and the hash being rewritten, ms. */
const WRITE_DELAY_MS = 300;
/** sessionStorage key of the hash this tab last wrote: after a reload it is the page's own state, not a shared link. */
const OWN_HASH_KEY = 'vaio.ownHash';

export class ScenarioSource {
	/** The lesson open beside the playground (null: none). */
	lesson = $state.raw<Lesson | null>(null);
	/** A message about the last link or file opened (a LinkError, or what was loaded). */
	notice = $state<Notice | null>(null);
	/** A link or file that carries filter code, waiting for the viewer's answer. */
	consent = $state.raw<OpenedScenario | null>(null);
	/**
	 * A shared link opened while this browser keeps saved disks: nothing runs until the viewer
	 * chooses to replace them or to play the link in memory (the saved disks are never wiped
	 * unasked). `savedName` is the saved scenario's name.
	 */
	linkOverSaved = $state.raw<{ hash: string; savedName: string } | null>(null);
	/** Custom filters' source that travels with the scenario in links (the filter editor's hook). */
	filters = $state<CustomFilterSource[]>([]);
	/** The hash the page last wrote or opened (without '#'). */
	hash = $state('');
	/** True once the first scenario is applied: from then on edits are written to the URL. */
	ready = $state(false);

	#sandbox: SandboxHost | undefined;
	#timer: ReturnType<typeof setTimeout> | undefined;
	/** The hash being opened is this tab's own state (a reload), so the saved disks are kept. */
	#own = false;

	constructor(
		private readonly pg: Playground,
		/** The custom bundles stored by the filter editor (none without). */
		private readonly bundles?: CustomBundles
	) {}

	destroy(): void {
		clearTimeout(this.#timer);
		this.#sandbox?.destroy();
	}

	/**
	 * Applies what the URL says (hash link, else ?lesson=, else the default) and starts the run,
	 * unless the link carries filter code (then it waits for consent).
	 */
	async start(): Promise<void> {
		const lesson = lessonById(new URLSearchParams(location.search).get('lesson'));
		if (lesson) {
			this.lesson = lesson;
			this.pg.scratch = true; // a lesson runs in memory: it never touches the disks the user keeps
			this.pg.scratchFor = 'lesson';
		}
		const hash = location.hash.slice(1);
		if (hash.includes('s=')) {
			// A shared link wins over the saved session (and runs on fresh disks, as it was made);
			// the hash this tab wrote itself, found again after a reload, keeps the saved disks.
			this.#own = !lesson && hash === readOwnHash();
			await this.openShared(hash);
			return;
		}
		if (lesson) this.applyLesson(lesson);
		else {
			// The disks, sidecars and scenario kept in OPFS or IndexedDB from the last visit.
			try {
				if (await this.pg.restoreSaved()) await this.bundles?.registerUsed(this.pg.snapshot());
			} catch {
				this.ready = true; // the store cannot be opened: the page says why and runs nothing
				return;
			}
		}
		this.ready = true;
		await this.pg.start();
	}

	/**
	 * Opens a shared link, unless it would replace disks saved in this browser: then the viewer
	 * chooses first (see linkOverSaved). This tab's own hash (a reload) keeps its disks anyway.
	 */
	private async openShared(hash: string): Promise<void> {
		if (!this.pg.scratch && !this.#own) {
			const saved = await this.pg.savedSession().catch(() => null);
			if (saved) {
				const name = (saved.scenario as { name?: unknown } | null)?.name;
				this.linkOverSaved = { hash, savedName: typeof name === 'string' && name ? name : 'unnamed' };
				return;
			}
		}
		await this.openHash(hash);
	}

	/** The viewer's answer to linkOverSaved: replace the saved disks, or play the link in memory. */
	async answerLinkOverSaved(replace: boolean): Promise<void> {
		const choice = this.linkOverSaved;
		if (!choice) return;
		this.linkOverSaved = null;
		if (replace) {
			await this.openHash(choice.hash);
			return;
		}
		this.pg.scratch = true;
		this.pg.scratchFor = 'link';
		await this.openHash(choice.hash, `The link plays in memory; your saved disks (“${choice.savedName.slice(0, 80)}”) are kept as they are.`);
	}

	/** Leaves a link played in memory: the disks saved in the page's store come back (waiting for Play). */
	async backToSavedDisks(): Promise<void> {
		if (!this.pg.scratch || this.pg.scratchFor !== 'link') return;
		this.pg.scratch = false;
		this.notice = null;
		try {
			if (await this.pg.restoreSaved()) await this.bundles?.registerUsed(this.pg.snapshot());
		} catch {
			return; // a store that cannot be opened is shown by the page
		}
		await this.pg.start();
	}

	/** Opens a link (its hash); a bad one shows why and runs the default scenario. */
	async openHash(hash: string, info?: string): Promise<void> {
		let opened: OpenedScenario;
		try {
			opened = openLink(hash);
		} catch (e) {
			await this.fail('This link cannot be opened', e);
			return;
		}
		this.hash = hash;
		await this.open(opened, info);
	}

	/** Opens a scenario JSON file (the page's download or a bare scenario document). */
	async openFile(file: File): Promise<void> {
		let opened: OpenedScenario;
		try {
			if (file.size > 2 * 1024 * 1024) throw new LinkError('content', `the file is ${file.size} bytes; a scenario file has at most 2 MiB`);
			opened = openJsonFile(await file.text());
		} catch (e) {
			this.notice = { kind: 'error', title: `“${file.name.slice(0, 80)}” cannot be opened`, text: reason(e), step: e instanceof LinkError ? e.step : undefined };
			return;
		}
		this.lesson = null;
		await this.open(opened, `Opened “${file.name.slice(0, 80)}”.`);
	}

	/** Opens a lesson in the playground (its scenario, speed and view) and plays it. */
	async openLesson(id: string): Promise<void> {
		const lesson = lessonById(id);
		if (!lesson) return;
		this.lesson = lesson;
		this.pg.scratch = true;
		this.pg.scratchFor = 'lesson';
		this.notice = null;
		this.applyLesson(lesson);
		const url = new URL(location.href);
		url.searchParams.set('lesson', lesson.id);
		this.write(url, pageLink(this.linkInput()));
		this.ready = true;
		await this.pg.play();
	}

	closeLesson(): void {
		this.lesson = null;
		const url = new URL(location.href);
		url.searchParams.delete('lesson');
		this.write(url, this.hash);
		if (!this.pg.scratch) return;
		// Back to the page's store: the scenario and disks saved there come back (waiting for
		// Play); with nothing saved, the lesson's scenario stays and its next run goes there.
		this.pg.scratch = false;
		void this.pg
			.restoreSaved()
			.then((saved) => (saved ? this.pg.start() : undefined))
			.catch(() => undefined); // a store that cannot be opened is shown by the page
	}

	/** The viewer agreed to run the link's filter code: install it, then load and run. */
	async agree(): Promise<void> {
		const opened = this.consent;
		if (!opened) return;
		this.consent = null;
		try {
			this.#sandbox ??= new SandboxHost();
			for (const f of opened.filters) {
				const r = await installCustomFilter(this.pg.client.api, this.#sandbox, f.name, f.source);
				if (!r.ok) {
					const where = r.problem.line ? ` (line ${r.problem.line})` : '';
					throw new Error(`custom filter “${f.name}” was not installed: ${r.problem.message}${where}`);
				}
			}
			this.pg.catalog = await this.pg.client.api.catalog();
		} catch (e) {
			await this.fail('The link’s filter code could not be installed', e);
			return;
		}
		this.filters = opened.filters;
		await this.apply(opened);
	}

	/** The viewer declined: nothing of the link's code runs; the default scenario loads. */
	async decline(): Promise<void> {
		this.consent = null;
		this.notice = { kind: 'info', title: 'The link’s filter code was not run', text: 'The default scenario is loaded instead.' };
		this.filters = [];
		this.pg.scenario = defaultEditableScenario();
		this.hash = '';
		this.write(new URL(location.href), '');
		this.ready = true;
		await this.pg.play();
	}

	/** The page's state as a link (hash without '#'). */
	link(): string {
		return pageLink(this.linkInput());
	}

	/** The page's state as a JSON file. */
	jsonFile(): string {
		return jsonFileText(pageLinkState(this.linkInput()));
	}

	/**
	 * Called on every edit (by an effect that reads the scenario): rewrites the hash once the
	 * edits pause. Nothing is written before the first scenario is applied, or while a link
	 * waits for consent (the link stays as it came).
	 */
	scheduleWrite(): void {
		if (!this.ready || this.consent) return;
		clearTimeout(this.#timer);
		this.#timer = setTimeout(() => {
			const hash = this.link();
			if (hash === this.hash) return;
			this.hash = hash;
			this.write(new URL(location.href), hash);
		}, WRITE_DELAY_MS);
	}

	/** The hash changed under us (a link pasted into the address bar): open it. */
	async onHashChange(): Promise<void> {
		const hash = location.hash.slice(1);
		if (hash === this.hash || !hash.includes('s=')) return;
		this.#own = false;
		await this.openShared(hash);
	}

	private linkInput() {
		const pg = this.pg;
		const scenario = pg.snapshot();
		// The stored custom bundles the scenario uses travel with it, as a link's filter code does.
		const own = (this.bundles?.linkFilters(scenario) ?? []).filter((f) => !this.filters.some((x) => x.name === f.name));
		return { scenario, speed: pg.speed, view: pg.view, selected: pg.selected, filters: [...this.filters, ...own] };
	}

	private applyLesson(lesson: Lesson): void {
		const pg = this.pg;
		pg.scenario = lessonScenario(lesson) as EditableScenario;
		pg.speed = lesson.speed;
		pg.view = lesson.view;
		pg.selected = -1;
		pg.preset = '';
	}

	private async open(opened: OpenedScenario, info?: string): Promise<void> {
		if (opened.filters.length > 0 && this.bundles) {
			// Code that is exactly this browser's stored bundles' is its own: no consent asked.
			const own = await this.bundles.ownCode(opened.filters);
			if (own) {
				for (const b of own) {
					const problem = await this.bundles.register(b);
					if (problem) {
						await this.fail('A stored custom bundle the link uses does not load', new Error(problem));
						return;
					}
				}
				this.filters = [];
				this.notice = info ? { kind: 'info', title: info, text: '' } : null;
				await this.apply(opened);
				return;
			}
		}
		if (opened.filters.length > 0) {
			// Nothing runs until the viewer says so.
			this.consent = opened;
			this.notice = null;
			return;
		}
		this.filters = [];
		this.notice = info ? { kind: 'info', title: info, text: '' } : null;
		await this.apply(opened);
	}

	private async apply(opened: OpenedScenario): Promise<void> {
		const pg = this.pg;
		// Stored custom bundles the scenario uses (a file, a link without their code) load first.
		const problems = (await this.bundles?.registerUsed(opened.scenario)) ?? [];
		if (problems.length) this.notice = { kind: 'error', title: 'A stored custom bundle does not load', text: problems.join('; ') };
		pg.scenario = opened.scenario as EditableScenario;
		if (opened.speed !== undefined) pg.speed = opened.speed;
		if (opened.view) pg.view = opened.view;
		pg.selected = opened.selected ?? -1;
		pg.preset = '';
		this.ready = true;
		this.scheduleWrite();
		// From now on the address is this tab's own state: reloading it keeps the disks.
		saveOwnHash(this.pg.scratch ? '' : location.hash.slice(1));
		if (this.#own) {
			this.#own = false;
			await pg.start();
			return;
		}
		pg.freshNext = true; // a link or file reproduces its run: fresh disks, the same digest
		await pg.play();
	}

	private async fail(title: string, e: unknown): Promise<void> {
		this.notice = { kind: 'error', title, text: `${reason(e)}. The default scenario is loaded instead.`, step: e instanceof LinkError ? e.step : undefined };
		this.consent = null;
		this.#own = false;
		this.filters = [];
		this.pg.scenario = defaultEditableScenario();
		this.pg.selected = -1;
		this.ready = true;
		// Keep the bad hash out of the address bar, so a reload does not show the error again.
		this.hash = '';
		this.write(new URL(location.href), '');
		await this.pg.play();
	}

	private write(url: URL, hash: string): void {
		url.hash = hash;
		// In memory (a lesson, a link beside saved disks) the address is not the saved disks' state:
		// a reload must not take it for this tab's own and fit the saved disks to it.
		saveOwnHash(this.pg.scratch ? '' : hash);
		try {
			replaceState(url, {});
		} catch {
			history.replaceState(history.state, '', url);
		}
	}
}

function reason(e: unknown): string {
	if (e instanceof LinkError) return `${stepName(e.step)}: ${e.message.replace(/^link \w+: /, '')}`;
	return e instanceof Error ? e.message : String(e);
}

function stepName(step: LinkError['step']): string {
	switch (step) {
		case 'format':
			return 'Not a scenario link';
		case 'base64':
			return 'Damaged link (base64)';
		case 'inflate':
			return 'Damaged link (compression)';
		case 'json':
			return 'Damaged link (JSON)';
		case 'version':
			return 'Unsupported link version';
		case 'content':
			return 'Invalid scenario';
	}
}

function saveOwnHash(hash: string): void {
	try {
		sessionStorage.setItem(OWN_HASH_KEY, hash);
	} catch {
		// no sessionStorage: a reload then treats the hash as a link (fresh disks)
	}
}

function readOwnHash(): string | null {
	try {
		return sessionStorage.getItem(OWN_HASH_KEY);
	} catch {
		return null;
	}
}
