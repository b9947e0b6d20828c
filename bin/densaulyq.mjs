#!/usr/bin/env node
// The TypeScript sources run through tsx, so there is no build step between a change and a run.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
