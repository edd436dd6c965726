import { describe, it, expect } from 'vitest';
import { isAbsoluteForm, originForm, targetAuthority } from '../../src/transport/index.js';

describe('request targets', () => {
  it('turns absolute-form targets into origin-form and finds their authority', () => {
    expect(isAbsoluteForm('/hello')).toBe(false);
    expect(isAbsoluteForm('*')).toBe(false);
    expect(isAbsoluteForm('http://greeter/hello')).toBe(true);
    expect(originForm('/a?b=1')).toBe('/a?b=1');
    expect(originForm('http://greeter/a/b?c=1')).toBe('/a/b?c=1');
    expect(originForm('http://greeter.weft:8080')).toBe('/');
    expect(originForm('http://greeter?x=1')).toBe('/?x=1');
    expect(targetAuthority('http://greeter.weft:8080/a')).toBe('greeter.weft:8080');
    expect(targetAuthority('http://user:pw@greeter/a')).toBe('greeter');
    expect(targetAuthority('http://greeter?x=/y')).toBe('greeter');
  });
});
