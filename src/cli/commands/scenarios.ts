import type { Command } from 'commander';

/** Registers the command(s) of this file on the program. (Placeholder while in development.) */
export function register(_program: Command): void {}
