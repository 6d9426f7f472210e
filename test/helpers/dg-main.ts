// `dg <args>` from the TypeScript sources, for child processes started through run-ts.js (no dist/
// build): node test/helpers/run-ts.js test/helpers/dg-main.ts run questioner (run-ts.js puts this file in argv[1])
import { main } from '../../services/cli/main';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`dg: ${String(err)}\n`);
  process.exit(1);
});
