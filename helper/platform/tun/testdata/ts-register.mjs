// `node --import ./ts-register.mjs child.mjs` lets a test's child process (run inside a network
// namespace with `ip netns exec`) import the helper's TypeScript sources directly.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
