import type { TestContext } from 'node:test';

/**
 * node:test runs `t.after` hooks in the order they were registered; teardown
 * must run the other way (a worker stops before the server that drops the
 * database). `defer` pushes onto a stack unwound last-in first-out.
 */
export function deferStack(t: TestContext): (cleanup: () => unknown) => void {
  const stack: Array<() => unknown> = [];
  t.after(async () => {
    for (const cleanup of stack.reverse()) await cleanup();
  });
  return (cleanup) => void stack.push(cleanup);
}
