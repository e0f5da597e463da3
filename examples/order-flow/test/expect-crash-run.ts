// What every crash run must show, whichever dedupe or Kafka it ran on.
import { expect } from 'vitest';
import type { CrashRunReport } from '../src/crash-run/crash-run.js';
import { totalKills } from '../src/crash-run/fault-driver.js';

/** The run's settings from the environment: EDA_CRASH_SEED replays a plan, EDA_CRASH_ORDERS scales it. */
export function crashRunEnv(defaultOrders: number) {
  const seed = process.env.EDA_CRASH_SEED ? Number(process.env.EDA_CRASH_SEED) : undefined;
  const orders = Number(process.env.EDA_CRASH_ORDERS || defaultOrders);
  return { orders, ...(seed === undefined ? {} : { seed }) };
}

/** Nothing lost, order kept, nothing dead-lettered, every process ran to a clean stop, and the faults happened. */
export function expectNothingLost(report: CrashRunReport, orders: number): void {
  expect(report.ordersPlaced).toBe(orders);
  expect(report.verdict.orders).toBe(orders);
  expect(report.verdict.lost).toEqual([]);
  expect(report.verdict.orderViolations).toEqual([]);
  expect(report.verdict.strangers).toBe(0);
  expect(report.outboxDead).toBe(0);
  expect(report.deadLetters.total).toBe(0);
  expect(report.deadLetteredLines).toBe(0);
  expect(report.unexpectedExits).toEqual([]);
  expect(report.uncleanStops).toEqual([]);
  // The faults really happened.
  expect(totalKills(report.faults)).toBeGreaterThanOrEqual(10);
  expect(report.faults.kafkaRestarts).toBe(1);
  expect(report.faults.rabbitMqRestarts).toBe(1);
  expect(report.faults.postgresConnections).toBeGreaterThan(0);
}
