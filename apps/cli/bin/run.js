#!/usr/bin/env node
// Entry point of the `tsvs` CLI. Commands are compiled to dist/commands (oclif, topic separator " ").
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
