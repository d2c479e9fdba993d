// The child process of kat-mutations.test.ts: runs the known-answer scenarios on whatever copy of
// this folder it is compiled in, and prints their mismatches as one line of JSON.
import { katMismatches } from './kat.js';

console.log(JSON.stringify(katMismatches()));
