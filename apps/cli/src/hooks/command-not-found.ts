/**
 * oclif `command_not_found` hook: the CLI's one-line error and exit 2 (bad usage) instead of oclif's
 * boxed message, for unknown commands and for extra words after a command (`tsvs show foo`).
 */
import { Errors, type Hook } from '@oclif/core';

const hook: Hook<'command_not_found'> = async function (opts) {
  const words = opts.id.split(':').join(' ');
  process.stderr.write(`tsvs: unknown command "${words}" (see ${opts.config.bin} --help)\n`);
  throw new Errors.ExitError(2);
};

export default hook;
