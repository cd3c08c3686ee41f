/**
 * The tool calls still running, so that a shutdown can wait for them to clean up (remove their
 * temporary files) after it cancelled them, instead of exiting under their feet.
 */
export class RunningCalls {
  private readonly running = new Set<Promise<unknown>>();

  /** Counts `call` as running until it settles; returns it unchanged. */
  track<T>(call: Promise<T>): Promise<T> {
    this.running.add(call);
    const done = (): void => void this.running.delete(call);
    call.then(done, done);
    return call;
  }

  get size(): number {
    return this.running.size;
  }

  /** Resolves once every running call has settled, or after `ms`, whichever comes first. */
  async settled(ms: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.running]), deadline]);
    clearTimeout(timer);
  }
}
