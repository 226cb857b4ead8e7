import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Idle keep-alive sockets and SDK timers must not hold the process open.
    setImmediate(() => process.exit(code));
  },
  () => process.exit(1),
);
