// A worker thread does not inherit the tsx loader of the thread that started it: register it here.
import { register } from 'tsx/esm/api';

register();
await import('./prepare-worker.ts');
