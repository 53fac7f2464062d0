import { describe, expect, it } from 'vitest';
import { chooseStore, describeStorage, explainStoreError, restoreNote, usageText } from './storage-info';

describe('chooseStore', () => {
	it('defaults to OPFS where the browser has it, else IndexedDB', () => {
		expect(chooseStore(null, ['opfs', 'idb', 'memory'])).toEqual({ store: 'opfs' });
		expect(chooseStore(null, ['idb', 'memory'])).toEqual({ store: 'idb' });
		expect(chooseStore(undefined, ['memory'])).toEqual({ store: 'memory' });
	});

	it('keeps a remembered choice this browser has, memory included', () => {
		expect(chooseStore('idb', ['opfs', 'idb', 'memory'])).toEqual({ store: 'idb' });
		expect(chooseStore('memory', ['opfs', 'idb', 'memory'])).toEqual({ store: 'memory' });
	});

	it('falls back, with a note, when the remembered store is missing here', () => {
		expect(chooseStore('opfs', ['idb', 'memory'])).toEqual({
			store: 'idb',
			note: 'OPFS is not available in this browser, so the disks are kept in IndexedDB.'
		});
	});

	it('ignores a preference that is not a store', () => {
		expect(chooseStore('floppy', ['opfs', 'idb', 'memory'])).toEqual({ store: 'opfs' });
	});
});

describe('storage in words', () => {
	it('shows use, quota and persistence', () => {
		const info = { store: 'opfs' as const, persisted: true, usage: 2.5 * 2 ** 20, quota: 10 * 2 ** 30, available: ['opfs' as const] };
		expect(describeStorage(info)).toBe('OPFS · 2.5 MiB of 10 GiB used · persistent');
		expect(usageText(info)).toBe('2.5 MiB of 10 GiB');
		expect(usageText({ usage: 0, quota: 0 })).toBe('');
		expect(describeStorage({ ...info, persisted: false, quota: 0 })).toBe('OPFS · may be evicted under storage pressure');
	});
});

describe('explainStoreError', () => {
	it('another tab: names the store, says nothing was written, offers to retry or play in memory', () => {
		const p = explainStoreError('StoreLockedError', 'the disk "disk.vm1/disk0" is open in another tab: close that tab, or continue there', 'opfs')!;
		expect(p.title).toBe('The OPFS disks are open in another tab');
		expect(p.short).toBe('the OPFS disks are open in another tab');
		expect(p.text).toBe(
			'The disk "disk.vm1/disk0" is open in another tab: close that tab, or continue there. This tab wrote nothing to them: try again once the other tab is closed, or play in memory here (nothing is kept).'
		);
		expect(p).toMatchObject({ retry: true, fallback: 'memory', reset: false });
	});

	it('storage full: the stopped run with the disk and the reason, and a reset on offer', () => {
		const msg = 'The run stopped: storage is full: writing 4096 bytes (data) to the disk "disk.vm1/disk0" was refused; this site uses 9 MiB of its 10 MiB quota (1 MiB available). Nothing written before was lost; free space by resetting the disks or use smaller ones.';
		const p = explainStoreError('StoreFullError', msg, 'idb')!;
		expect(p.title).toBe('IndexedDB storage is full: the run stopped');
		expect(p.text).toMatch(/^Storage is full: writing 4096 bytes \(data\) to the disk "disk\.vm1\/disk0" was refused; .* use smaller ones\.$/);
		expect(p).toMatchObject({ retry: false, fallback: 'memory', reset: true });
	});

	it('a missing backend offers the next store', () => {
		const p = explainStoreError('StoreUnavailableError', 'OPFS is not available here (no FileSystemSyncAccessHandle in this worker): choose the IndexedDB store', 'opfs')!;
		expect(p.title).toBe('OPFS is not available in this browser');
		expect(p.text.endsWith('choose the IndexedDB store.')).toBe(true);
		expect(p.fallback).toBe('idb');
		expect(explainStoreError('StoreUnavailableError', 'IndexedDB is not available in this browser context', 'idb')?.fallback).toBe('memory');
	});

	it('leaves other errors to the run error', () => {
		expect(explainStoreError('Error', 'vms[0].name: bad', 'opfs')).toBeUndefined();
		expect(explainStoreError(null, 'x', 'opfs')).toBeUndefined();
	});
});

describe('restoreNote', () => {
	it('says how much came back, or why the saved disks were wiped', () => {
		expect(restoreNote({ restored: true, restoredBlocks: 2712 }, 'opfs')).toEqual({
			kind: 'info',
			text: 'Disks restored from OPFS: 2,712 written blocks, every read of them verified.'
		});
		expect(restoreNote({ restored: true, restoredBlocks: 1 }, 'idb')?.text).toContain('1 written block,');
		expect(restoreNote({ restored: false, restoredBlocks: 0, discarded: 'the saved disks have another layout or other filters than this scenario' }, 'opfs')).toEqual({
			kind: 'warn',
			text: 'The disks saved in OPFS were wiped: the saved disks have another layout or other filters than this scenario.'
		});
		expect(restoreNote({ restored: true, restoredBlocks: 0 }, 'opfs')).toBeUndefined();
		expect(restoreNote({ restored: false, restoredBlocks: 0 }, 'opfs')).toBeUndefined();
	});
});
