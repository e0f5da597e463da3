// Global setup of the vitest "dist" project: the tests there load the built packages, so build
// them first (seconds when turbo's cache is warm) rather than test a stale or missing dist.
import { buildPackages, publishedPackages } from './pack-workspace.js';

export default function setup(): void {
  buildPackages(publishedPackages());
}
