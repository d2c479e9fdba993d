// umbra: the command-line client of the helper. The IPC it speaks comes with the helper daemon;
// until then it says so instead of pretending.
const USAGE = `usage: umbra <command>

The helper daemon (umbrad serve) and its IPC are not built yet. To run a tunnel now, as root:
  umbrad up FILE.conf`;

console.error(USAGE);
process.exit(process.argv.length > 2 && !['help', '--help', '-h'].includes(process.argv[2]!) ? 2 : 0);
