// mocha's spec reporter, followed by the plain closing line CI reads: "N passed, N failed[, N skipped]".
'use strict';
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats ?? {};
      const line = `${s.passes ?? 0} passed, ${s.failures ?? 0} failed` + (s.pending ? `, ${s.pending} skipped` : '');
      // After Spec's own epilogue, which also runs on EVENT_RUN_END.
      process.nextTick(() => process.stdout.write(`\n${line}\n`));
    });
  }
}
module.exports = SummaryReporter;
