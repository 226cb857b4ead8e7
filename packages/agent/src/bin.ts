import { main } from './cli.js';

// The agent runs on whatever Node an instance has; the SDK's Node-version notice is not our output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Idle keep-alive sockets and SDK timers must not hold the process open; stdout is flushed first.
    process.stdout.write('', () => process.exit(code));
  },
  () => process.exit(1),
);
