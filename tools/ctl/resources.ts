import type { Command } from 'commander';

/** Registers the petrelctl 'resources' subcommands (placeholder until its owner fills it in). */
export function register(_program: Command): void {}
