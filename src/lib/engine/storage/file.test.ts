import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK_BYTES, SECTOR_BYTES } from '../io';
import { decodeName, encodeName, FileBlockStore, FileSidecarStore, FileStoreFactory } from './file';
import { describeBlockStore, describeSidecarStore, describeStoreFactory, pattern } from './store-suite';

const tmpRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), 'vaio-store-'));

describeStoreFactory('FileStoreFactory', () => new FileStoreFactory(tmpRoot()), {
	dispose: (f) => fs.rmSync((f as FileStoreFactory).rootDir, { recursive: true, force: true })
});

describe('file stores directly', () => {
	let dir = '';
	let n = 0;
	beforeAll(() => {
		dir = tmpRoot();
	});
	afterAll(() => {
		fs.rmSync(dir, { recursive: true, force: true });
	});

	describeBlockStore('FileBlockStore', (sectors) => new FileBlockStore(path.join(dir, `d${n++}.img`), sectors), {
		reopen: (closed) => new FileBlockStore((closed as FileBlockStore).path, 1)
	});
	describeSidecarStore('FileSidecarStore', () => new FileSidecarStore(path.join(dir, `s${n++}`)), {
		reopen: (sc) => new FileSidecarStore((sc as FileSidecarStore).dir)
	});

	it('is a header-less sparse image: file size = capacity, data at sector × 512', () => {
		const file = path.join(dir, 'raw.img');
		const s = new FileBlockStore(file, (20 * 2 ** 30) / SECTOR_BYTES);
		expect(fs.statSync(file).size).toBe(20 * 2 ** 30);
		const data = pattern(BLOCK_BYTES, 1);
		s.write(1000, data);
		s.flush();
		const raw = Buffer.alloc(BLOCK_BYTES);
		const fd = fs.openSync(file, 'r');
		fs.readSync(fd, raw, 0, BLOCK_BYTES, 1000 * SECTOR_BYTES);
		fs.closeSync(fd);
		expect(raw.equals(Buffer.from(data))).toBe(true);
		expect(fs.statSync(file).blocks * 512).toBeLessThanOrEqual(1024 * 1024);
		s.close();
		expect(() => s.read(0, new Uint8Array(SECTOR_BYTES))).toThrow(/closed/);
	});

	it('unmap inside the disk does not allocate holes', () => {
		const s = new FileBlockStore(path.join(dir, 'holes.img'), 2 ** 18); // 128 MiB
		s.write(2 ** 17, pattern(BLOCK_BYTES, 2));
		const before = s.allocatedBytes();
		s.unmap(0, 2 ** 18 - 8); // mostly holes, not reaching the end
		expect(s.allocatedBytes()).toBeLessThanOrEqual(before);
		const dst = new Uint8Array(BLOCK_BYTES).fill(1);
		s.read(2 ** 17, dst);
		expect(dst.every((b) => b === 0)).toBe(true);
		s.close();
	});

	it('sidecar files stay inside their directory with encoded names; temp files are ignored', () => {
		const sdir = path.join(dir, 'sc-names');
		const sc = new FileSidecarStore(sdir);
		sc.set('../../escape', new Uint8Array([1]));
		sc.set('Ab/c', new Uint8Array([2]));
		fs.writeFileSync(path.join(sdir, 'tmp.999.0'), 'half a value');
		expect(fs.readdirSync(dir)).not.toContain('escape');
		expect(fs.readdirSync(sdir).sort()).toEqual(['k_%2E%2E%2F%2E%2E%2Fescape', 'k_%41b%2Fc', 'tmp.999.0']);
		expect(sc.keys()).toEqual(['../../escape', 'Ab/c']);
	});

	it('encodes names reversibly and rejects names too long for a file system', () => {
		for (const name of ['', 'a', 'A.b', 'ü 🐘', '%', '..']) expect(decodeName(encodeName(name))).toBe(name);
		expect(encodeName('Disk-0_x.img')).toBe('%44isk-0_x%2Eimg');
		expect(() => encodeName('x'.repeat(300))).toThrow(RangeError);
	});
});
