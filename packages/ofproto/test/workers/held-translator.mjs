// A revalidator translator for tests: the full xlate translator (init.module, init.init), whose
// thread can be held inside an update. The update { type: 'hold', gate } blocks the revalidator
// thread until Int32Array(gate)[0] becomes non-zero (at most 30 s), so that commands posted
// meanwhile (a round's dump, more updates) queue behind it in order. Plain JavaScript: workers
// load it with import().
export async function createTranslator(init) {
  const mod = await import(init.module);
  const inner = await mod.createTranslator(init.init);
  return {
    get version() { return inner.version; },
    translate: (key, keyBase) => inner.translate(key, keyBase),
    update(msg) {
      if (msg && msg.type === 'hold') {
        Atomics.wait(new Int32Array(msg.gate), 0, 0, 30000);
        return;
      }
      inner.update?.(msg);
    },
  };
}
