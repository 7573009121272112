/**
 * Entry point of berthd (bin/berthd runs this file). It loads the daemon bundled into a few
 * files (build/berthd/, made by scripts/bundle.ts at setup and build) rather than some 400
 * modules one by one: module loading was most of a restart's CPU, paid while every container of
 * a live restore waits for the API. The bundle is used only while it is fresh — no file it was
 * built from is newer or gone — so that the sources stay the truth: after an edit, berthd runs
 * the sources until the next build, and tests of an edited tree test the edit. JavaScript, as
 * the CLI's entry is, so that Node's type stripper is not loaded to run the bundle.
 */
import { bundleIsFresh } from '../bundles.js';

if (process.env.BERTH_DAEMON_BUNDLE !== '0' && bundleIsFresh('berthd')) await import('../../build/berthd/main.js');
else await import('./main.ts');
