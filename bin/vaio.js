#!/usr/bin/env node
// The `vaio` command: registers tsx's ESM loader (so Node runs the TypeScript sources directly),
// then runs the CLI. Paths are relative to this file, so it works from any directory and via
// `npx vaio`. tsconfig: false, so the cwd's tsconfig (or a missing .svelte-kit one) is not read.
import { register } from 'tsx/esm/api';

register({ tsconfig: false });
await import('../src/cli/main.ts');
