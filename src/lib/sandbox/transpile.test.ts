/** Transpiling custom filters: lines kept, syntax errors and foreign imports at their lines. */
import { describe, expect, it } from 'vitest';
import { foreignImport, lineColumn, problemLine, transpileFilter } from './transpile';

describe('transpileFilter', () => {
	it('removes types and keeps every line where it was', () => {
		const src = "import { PASS, type FilterDef } from 'vaio';\ninterface S {\n  n: number;\n}\nexport default {\n  onIo(io: unknown): typeof PASS {\n    throw new Error('line 7');\n  }\n} satisfies Partial<FilterDef>;\n";
		const t = transpileFilter(src);
		expect(t.ok).toBe(true);
		if (!t.ok) return;
		expect(t.js.split('\n')).toHaveLength(src.split('\n').length);
		expect(t.js.split('\n')[6]).toContain("throw new Error('line 7')");
		expect(t.js).not.toContain('interface');
	});

	it('reports a syntax error at its line and column', () => {
		const t = transpileFilter('const a = 1;\nconst b = {\n  x: 1 2,\n};\n');
		expect(t.ok).toBe(false);
		if (!t.ok) expect(t.problem).toMatchObject({ kind: 'syntax', line: 3 });
	});

	it('refuses imports of anything but vaio, at their line', () => {
		const t = transpileFilter("import { PASS } from 'vaio';\n\nimport fs from 'node:fs';\nexport default { fs, PASS };\n");
		expect(!t.ok && t.problem).toMatchObject({ line: 3, message: "a custom filter can import only from 'vaio' (not 'node:fs')" });
		expect(foreignImport("const x = 1;\nconst m = import('https://example.com/x.js');")).toEqual({ specifier: 'https://example.com/x.js', line: 2 });
		expect(foreignImport("export * from './other';")).toEqual({ specifier: './other', line: 1 });
		expect(foreignImport("import * as v from 'vaio';\nimport 'vaio';\nconst s = 'import x from \"y\"';")).toBeUndefined();
	});

	it('finds the line a registration problem is about', () => {
		const src = "export default {\n  name: 'x',\n  class: 'storage',\n  params: [\n    { name: 'size', type: 'int' },\n  ],\n};\n";
		expect(problemLine(src, 'class "storage" is not one of inspection, …')).toBe(3);
		expect(problemLine(src, 'params[0] "size": help text is missing')).toBe(5);
		expect(problemLine(src, 'required hook "onIo" is missing')).toBe(1);
		expect(lineColumn('a\nbc', 3)).toEqual({ line: 2, column: 2 });
	});
});
