import { describe, expect, it } from 'vitest';
import { formatRate, formatRatio } from '../../src/report/format-value.js';

describe('formatRatio', () => {
  it('writes 4 decimals, cut so that short of 1 never reads as 1', () => {
    expect(formatRatio(0.95914)).toBe('0.9591');
    expect(formatRatio(0.95919)).toBe('0.9591');
    expect(formatRatio(0.99996)).toBe('0.9999');
    expect(formatRatio(0.9591)).toBe('0.9591');
    expect(formatRatio(0.013)).toBe('0.0130');
    expect(formatRatio(1)).toBe('1');
    expect(formatRatio(0)).toBe('0');
  });
  it('keeps a tiny non-zero ratio visible', () => {
    expect(formatRatio(0.00004)).toBe('0.00004');
    expect(formatRatio(0.000123456)).toBe('0.00012');
  });
  it('picks the format from the rate name', () => {
    expect(formatRate('deliveryRatio', 0.95914)).toBe('0.9591');
    expect(formatRate('errorRate', 0.5)).toBe('0.5000');
    expect(formatRate('messagesPerSec', 1.8182)).toBe('1.82');
    expect(formatRate('deliveriesPerSec', 123.456)).toBe('123.5');
    expect(formatRate('refusals', 1234)).toBe('1,234');
  });
});
