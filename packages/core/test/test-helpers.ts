// Shared by core's tests: wait for a condition with an idle-free total timeout.
export function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (condition()) return resolve();
      if (Date.now() - started > timeoutMs)
        return reject(new Error(`condition not met within ${timeoutMs} ms`));
      setTimeout(tick, 2);
    };
    tick();
  });
}
