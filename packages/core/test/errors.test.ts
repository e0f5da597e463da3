import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  DecodeError,
  EdaError,
  PayloadError,
  UnavailableError,
} from '../src/index.js';

describe('isInstance', () => {
  it('EdaError.isInstance accepts every @eda error; a subclass accepts only its own kind', () => {
    const unavailable = new UnavailableError('down');
    expect(EdaError.isInstance(unavailable)).toBe(true);
    expect(UnavailableError.isInstance(unavailable)).toBe(true);
    // It used to be inherited unchanged, so any @eda error passed as a ConfigurationError.
    expect(ConfigurationError.isInstance(unavailable)).toBe(false);
    expect(DecodeError.isInstance(new ConfigurationError('bad'))).toBe(false);
    expect(PayloadError.isInstance(new PayloadError('EDA_PAYLOAD_MISSING', 'gone'))).toBe(true);
    expect(EdaError.isInstance(new Error('plain'))).toBe(false);
    expect(UnavailableError.isInstance({ code: 'EDA_UNAVAILABLE' })).toBe(false);
  });

  it('accepts a subclass of the class, and the same class from another copy of the package', () => {
    class AccessError extends UnavailableError {}
    expect(UnavailableError.isInstance(new AccessError('denied'))).toBe(true);
    // A second copy of @eda/core has its own class of the same name, carrying the shared marker.
    const OtherCopy = { ConfigurationError: class ConfigurationError extends EdaError {} };
    const fromOtherCopy = new OtherCopy.ConfigurationError('EDA_CONFIGURATION', 'bad');
    expect(ConfigurationError.isInstance(fromOtherCopy)).toBe(true);
    expect(UnavailableError.isInstance(fromOtherCopy)).toBe(false);
  });
});
